using System.Text;
using Sluice.Testing.FakePostgres;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Faults;

/// <summary>Servers that die or misbehave while idle in the pool, and clients that leave mid-result.</summary>
public sealed class ServerLifecycleFaultTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("close")]
    [InlineData("reset")]
    [InlineData("fatal")]
    [InlineData("garbage")]
    public async Task IdleServerDies_NextClientGetsAFreshServer(string how)
    {
        var logins = 0;
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                var n = Interlocked.Increment(ref logins);
                await c.CompleteLoginAsync(n, n);
                if (n > 1)
                {
                    await c.ServeQueriesAsync();
                    return;
                }
                await Task.Delay(300);   // idle in the pool after the welcome
                switch (how)
                {
                    case "close": c.Close(); break;
                    case "reset": c.CloseAbruptly(); break;
                    case "fatal":
                        await c.SendErrorAsync("FATAL", "57P01", "terminating connection due to administrator command");
                        c.Close();
                        break;
                    case "garbage":
                        await c.SendRawAsync(PgWire.CommandComplete("SELECT 1"));   // a reply to nothing
                        await c.WaitForCloseAsync(TimeSpan.FromSeconds(10));
                        break;
                }
            },
            output,
            "pool_mode = transaction");

        await using var client = await host.LoginOkAsync();
        // The server dies meanwhile; the query goes out once the pool has seen it go (a fixed sleep raced the
        // server's read loop on a loaded machine and handed the query to the dying server).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (host.Pooler.Pools.All.Any(p => p.ServerCount > 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.False(host.Pooler.Pools.All.Any(p => p.ServerCount > 0), "the dead idle server is still counted in its pool");

        var reply = await client.QueryAsync("SELECT 1");

        Assert.Equal(['T', 'D', 'C', 'Z'], reply.Select(m => m.Type));
        Assert.Equal(2, host.Fake.StartupCount);
    }

    [Fact]
    public async Task PipelinedQueries_ServerKeptUntilLastReadyForQuery()
    {
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                await c.CompleteLoginAsync(1, 1);
                await c.ServeQueriesAsync(async (conn, sql) =>
                {
                    await conn.SendResultAsync("x", sql);
                    if (sql == "q1")
                    {
                        await Task.Delay(300);   // the second reply is late: nobody may take the server in between
                    }
                    await conn.SendReadyForQueryAsync('I');
                });
            },
            output,
            "pool_mode = transaction",
            "default_pool_size = 1");
        await using var a = await host.LoginOkAsync();
        await using var b = await host.LoginOkAsync();

        await a.SendAsync((byte[])[.. PgWire.Query("q1"), .. PgWire.Query("q2")]);
        var first = await a.ReadUntilReadyAsync();
        await b.SendQueryAsync("qb");
        var second = await a.ReadUntilReadyAsync();
        var bReply = await b.ReadUntilReadyAsync();

        Assert.Equal("q1", Value(first));
        Assert.Equal("q2", Value(second));
        Assert.Equal("qb", Value(bReply));
        Assert.Equal(["q1", "q2", "qb"], host.Fake.Connections.Single().Queries);
    }

    [Fact]
    public async Task ClientLeavesMidResult_ServerIsClosedNotReused()
    {
        var firstServerClosed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var logins = 0;
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                var n = Interlocked.Increment(ref logins);
                await c.CompleteLoginAsync(n, n);
                if (n == 1)
                {
                    await c.ExpectQueryAsync();
                    await c.SendRawAsync([.. PgWire.RowDescription("x"), .. PgWire.DataRow("partial")]);
                    // No CommandComplete/ReadyForQuery: the query is still "running" when the client leaves.
                    firstServerClosed.TrySetResult(await c.WaitForCloseAsync(TimeSpan.FromSeconds(10)));
                    return;
                }
                await c.ServeQueriesAsync();
            },
            output,
            "pool_mode = transaction");

        var client = await host.LoginOkAsync();
        await client.SendQueryAsync("SELECT slow");
        Assert.Equal('T', (await client.ReadAsync())!.Type);
        await client.DisposeAsync();

        Assert.True(await firstServerClosed.Task.WaitAsync(TimeSpan.FromSeconds(15)), "the dirty server was kept");
        await using var next = await host.LoginOkAsync();
        Assert.Equal("1", Value(await next.QueryAsync("SELECT 1")));
        Assert.Equal(2, host.Fake.StartupCount);
    }

    [Fact]
    public async Task LargeParameterStatusMidResult_IsForwardedIntact()
    {
        // ParameterStatus is one of the messages Sluice must read whole; this one is far larger than its buffer.
        var big = new string('z', 200_000);
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                await c.CompleteLoginAsync(1, 1);
                await c.ExpectQueryAsync();
                byte[] reply =
                [
                    .. PgWire.RowDescription("x"),
                    .. PgWire.DataRow("before"),
                    .. PgWire.ParameterStatus("application_name", big),
                    .. PgWire.DataRow("after"),
                    .. PgWire.CommandComplete("SELECT 2"),
                    .. PgWire.ReadyForQuery('I'),
                ];
                await c.SendInChunksAsync(reply, 7_000, TimeSpan.FromMilliseconds(1));
                await c.ServeQueriesAsync();
            },
            output);

        await using var client = await host.LoginOkAsync();
        var messages = await client.QueryAsync("SELECT x", TimeSpan.FromSeconds(20));

        Assert.Equal(['T', 'D', 'S', 'D', 'C', 'Z'], messages.Select(m => m.Type));
        Assert.Equal(("application_name", big), messages[2].ParameterStatus());
        Assert.Equal("after", Encoding.UTF8.GetString(PgWire.ParseDataRow(messages[3].Body)[0]!));
        Assert.Equal('Z', (await client.QueryAsync("SELECT 1"))[^1].Type);
    }

    [Fact]
    public async Task CancelForIdleClient_IsDropped()
    {
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                await c.CompleteLoginAsync(1, 1);
                await c.ServeQueriesAsync();
            },
            output,
            "pool_mode = transaction");
        await using var client = await host.LoginOkAsync();
        await client.QueryAsync("SELECT 1");

        await RawPgClient.SendCancelAsync(host.EndPoint, client.Login!.ProcessId, client.Login.SecretKey);
        await Task.Delay(200);

        Assert.Equal(0, host.Fake.CancelCount);
        Assert.Equal('Z', (await client.QueryAsync("SELECT 1"))[^1].Type);
    }

    private static string? Value(IReadOnlyList<PgMessage> reply) =>
        reply.FirstOrDefault(m => m.Type == 'D') is { } row ? Encoding.UTF8.GetString(PgWire.ParseDataRow(row.Body)[0]!) : null;
}
