using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Pooling;

[Collection(PostgresCollection.Name)]
public sealed class SessionPoolingTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    [Fact]
    public async Task SessionState_SurvivesStatements_AndIsResetForNextClientOnSameServer()
    {
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", "session").Setting("default_pool_size", 1));

        int firstPid;
        await using (var a = await host.OpenAsync())
        {
            firstPid = await a.ScalarAsync<int>("SELECT pg_backend_pid()");
            await a.ExecAsync("SET myapp.x = '1'");
            await a.ExecAsync("SET statement_timeout = '12345ms'");
            await a.ExecAsync("PREPARE sluice_p AS SELECT 1");
            await a.ExecAsync("CREATE TEMP TABLE sluice_tmp (i int)");
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal("1", await a.ScalarAsync<string>("SELECT current_setting('myapp.x', true)"));
                Assert.Equal("12345ms", await a.ScalarAsync<string>("SHOW statement_timeout"));
                Assert.Equal(firstPid, await a.ScalarAsync<int>("SELECT pg_backend_pid()"));
            }
            Assert.Equal(1L, await a.ScalarAsync<long>("SELECT count(*) FROM pg_prepared_statements WHERE name = 'sluice_p'"));
        }

        await using var b = await host.OpenAsync();
        Assert.Equal(firstPid, await b.ScalarAsync<int>("SELECT pg_backend_pid()"));
        var x = await b.ScalarAsync<string?>("SELECT current_setting('myapp.x', true)");
        Assert.True(string.IsNullOrEmpty(x), $"myapp.x leaked to the next client: '{x}'");
        Assert.Equal("0", await b.ScalarAsync<string>("SHOW statement_timeout"));
        Assert.Equal(0L, await b.ScalarAsync<long>("SELECT count(*) FROM pg_prepared_statements"));
        Assert.Null(await b.ScalarAsync<string?>("SELECT to_regclass('pg_temp.sluice_tmp')::text"));
    }

    [Fact]
    public async Task Session_KeepsOneServerForTheWholeSession_AndSecondClientWaits()
    {
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", "session").Setting("default_pool_size", 1));

        var a = await host.OpenAsync();
        var pid = await a.ScalarAsync<int>("SELECT pg_backend_pid()");

        // With the only server held by client a, client b's first query cannot run until a leaves.
        // Same connection string as a: Npgsql's type loading already happened, so opening b needs no server.
        await using var b = await host.OpenAsync();
        var bQuery = b.ScalarAsync<int>("SELECT pg_backend_pid()");
        await Task.Delay(500);
        Assert.False(bQuery.IsCompleted, "client b ran a query although the only server is linked to client a");
        Assert.Equal(pid, await a.ScalarAsync<int>("SELECT pg_backend_pid()"));
        await a.DisposeAsync();

        Assert.Equal(pid, await bQuery.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
