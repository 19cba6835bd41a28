using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Pooling;

[Collection(PostgresCollection.Name)]
public sealed class StatementPoolingTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Refusal = "transaction blocks not allowed in statement pooling mode";

    private PostgresInstance Pg => fixture.Postgres;

    private Task<TestPooler> StartAsync() =>
        TestPooler.StartAsync(Pg, output, ini => ini.Setting("pool_mode", "statement").Setting("default_pool_size", 1));

    [Fact]
    public async Task MultiStatementTransaction_IsRefused_Npgsql()
    {
        await using var host = await StartAsync();
        await using (var conn = await host.OpenAsync())
        {
            var ex = await Assert.ThrowsAnyAsync<NpgsqlException>(() => conn.ExecAsync("BEGIN; SELECT 1;"));
            Assert.Contains(Refusal, ex.Message, StringComparison.Ordinal);
        }

        await using (var conn = await host.OpenAsync())
        {
            var ex = await Assert.ThrowsAnyAsync<NpgsqlException>(() => conn.ExecAsync("BEGIN"));
            Assert.Contains(Refusal, ex.Message, StringComparison.Ordinal);
        }

        // The pool is healthy and the next client is not inside the refused transaction.
        await host.AssertNextClientNotInTransactionAsync();
        await using var next = await host.OpenAsync();
        Assert.Null(await next.ScalarAsync<object?>("SELECT txid_current_if_assigned()"));
        Assert.Equal(1, await next.ScalarAsync<int>("SELECT 1"));
    }

    [Fact]
    public async Task MultiStatementTransaction_IsRefused_SimpleProtocol()
    {
        await using var host = await StartAsync();
        await using var raw = await RawPgClient.LoginOkAsync(host.Port, PostgresInstance.AppUser, PostgresInstance.AppDatabase, PostgresInstance.AppPassword);
        var r = await raw.QueryAsync("BEGIN; SELECT 1;");
        Assert.NotNull(r.Error);
        Assert.Contains(Refusal, r.Error!.Message, StringComparison.Ordinal);
        Assert.True(await raw.WaitForCloseAsync(TimeSpan.FromSeconds(5)), "the client should be disconnected");
    }

    [Fact]
    public async Task SingleStatements_Work_AndAreReleasedAfterEach()
    {
        await using var host = await StartAsync();
        var table = Sql.UniqueName("stmt");
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync();
        await a.ExecAsync($"CREATE TABLE {table} (id int)");
        for (var i = 0; i < 10; i++)
        {
            // Pool size 1: both clients alternate on the single server, statement by statement.
            await a.ExecAsync($"INSERT INTO {table} VALUES ($1)", i);
            Assert.Equal(i + 1L, await b.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        }
        Assert.Equal(await a.ScalarAsync<int>("SELECT pg_backend_pid()"), await b.ScalarAsync<int>("SELECT pg_backend_pid()"));
        await a.ExecAsync($"DROP TABLE {table}");
    }
}
