using Sluice.Testing.FakePostgres;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Faults;

/// <summary>ReadyForQuery status decides when a server goes back to the pool in transaction mode.</summary>
public sealed class TransactionPoolingFaultTests(ITestOutputHelper output)
{
    private static Func<FakeServerConnection, Task> Script(Action<FakeServerConnection>? onLogin = null) => async c =>
    {
        await c.CompleteLoginAsync(100 + c.Id, 200 + c.Id);
        onLogin?.Invoke(c);
        await c.ServeQueriesAsync(FakeResponders.Transactional(sql => sql));
    };

    [Fact]
    public async Task InTransaction_ServerStaysWithClientUntilIdle_OtherClientWaits()
    {
        await using var host = await TestPooler.StartAsync(Script(), output, "pool_mode = transaction", "default_pool_size = 1");
        await using var a = await host.LoginOkAsync();
        await using var b = await host.LoginOkAsync();

        Assert.Equal('T', (await a.QueryAsync("BEGIN"))[^1].TransactionStatus);

        // B needs the only server, which A holds inside its transaction.
        await b.SendQueryAsync("SELECT 'b'");
        var bReply = b.ReadUntilReadyAsync(TimeSpan.FromSeconds(20));
        await Task.Delay(500);
        Assert.False(bReply.IsCompleted, "B was answered while A's transaction was open");

        var inside = await a.QueryAsync("SELECT 'a'");
        Assert.Equal('T', inside[^1].TransactionStatus);
        Assert.Equal("SELECT 'a'", Value(inside));
        Assert.False(bReply.IsCompleted);

        Assert.Equal('I', (await a.QueryAsync("COMMIT"))[^1].TransactionStatus);
        var b1 = await bReply;
        Assert.Equal("SELECT 'b'", Value(b1));
        Assert.Equal('I', b1[^1].TransactionStatus);

        Assert.Equal(1, host.Fake.StartupCount);
        Assert.Equal(["BEGIN", "SELECT 'a'", "COMMIT", "SELECT 'b'"], host.Fake.Connections.Single().Queries);
    }

    [Fact]
    public async Task TwoClientsAlternate_TransactionKeepsItsServer_NoExtraLogins()
    {
        await using var host = await TestPooler.StartAsync(Script(), output, "pool_mode = transaction", "default_pool_size = 2");
        await using var a = await host.LoginOkAsync();
        await using var b = await host.LoginOkAsync();
        Assert.Equal(1, host.Fake.StartupCount);   // the welcome needed one server

        Assert.Equal('T', (await a.QueryAsync("BEGIN"))[^1].TransactionStatus);
        Assert.Equal('I', (await b.QueryAsync("SELECT 'b1'"))[^1].TransactionStatus);   // A's server is taken: a second login
        Assert.Equal(2, host.Fake.StartupCount);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal('T', (await a.QueryAsync($"SELECT 'a{i}'"))[^1].TransactionStatus);
            Assert.Equal('I', (await b.QueryAsync($"SELECT 'b{i}'"))[^1].TransactionStatus);
        }
        Assert.Equal('I', (await a.QueryAsync("COMMIT"))[^1].TransactionStatus);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal('I', (await a.QueryAsync($"SELECT 'x{i}'"))[^1].TransactionStatus);
            Assert.Equal('I', (await b.QueryAsync($"SELECT 'y{i}'"))[^1].TransactionStatus);
        }

        Assert.Equal(2, host.Fake.StartupCount);
        // Every statement of A's transaction ran on the server that ran its BEGIN, and nothing else ran there meanwhile.
        var owner = host.Fake.Connections.Single(c => c.Queries.Contains("BEGIN"));
        var queries = owner.Queries.ToList();
        var begin = queries.IndexOf("BEGIN");
        Assert.Equal(["BEGIN", "SELECT 'a0'", "SELECT 'a1'", "SELECT 'a2'", "SELECT 'a3'", "SELECT 'a4'", "COMMIT"], queries.Skip(begin).Take(7));
    }

    [Fact]
    public async Task FailedTransaction_E_KeepsServerUntilRollback()
    {
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                await c.CompleteLoginAsync(1, 1);
                await c.ServeQueriesAsync(async (conn, sql) =>
                {
                    switch (sql)
                    {
                        case "BEGIN":
                            await conn.SendRawAsync([.. PgWire.CommandComplete("BEGIN"), .. PgWire.ReadyForQuery('T')]);
                            break;
                        case "bad":
                            await conn.SendRawAsync([.. PgWire.Error("ERROR", "42601", "syntax error"), .. PgWire.ReadyForQuery('E')]);
                            break;
                        case "ROLLBACK":
                            await conn.SendRawAsync([.. PgWire.CommandComplete("ROLLBACK"), .. PgWire.ReadyForQuery('I')]);
                            break;
                        default:
                            await conn.SendRawAsync([.. PgWire.RowDescription("x"), .. PgWire.DataRow(sql), .. PgWire.CommandComplete("SELECT 1"), .. PgWire.ReadyForQuery('I')]);
                            break;
                    }
                });
            },
            output,
            "pool_mode = transaction",
            "default_pool_size = 1");
        await using var a = await host.LoginOkAsync();
        await using var b = await host.LoginOkAsync();

        await a.QueryAsync("BEGIN");
        Assert.Equal('E', (await a.QueryAsync("bad"))[^1].TransactionStatus);
        await b.SendQueryAsync("SELECT 'b'");
        var bReply = b.ReadUntilReadyAsync(TimeSpan.FromSeconds(20));
        await Task.Delay(300);
        Assert.False(bReply.IsCompleted, "the server was released while its transaction had failed ('E')");

        Assert.Equal('I', (await a.QueryAsync("ROLLBACK"))[^1].TransactionStatus);
        Assert.Equal('I', (await bReply)[^1].TransactionStatus);
        Assert.Equal(1, host.Fake.StartupCount);
    }

    private static string? Value(IReadOnlyList<PgMessage> reply) =>
        reply.FirstOrDefault(m => m.Type == 'D') is { } row ? System.Text.Encoding.UTF8.GetString(PgWire.ParseDataRow(row.Body)[0]!) : null;
}
