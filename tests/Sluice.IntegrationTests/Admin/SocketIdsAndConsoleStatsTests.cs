using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Admin;

/// <summary>
/// The id column as PgBouncer numbers it (one counter for clients and servers), server_lifetime = 0 (servers used
/// once), KILL_CLIENT, and console sessions in SHOW TOTALS: what PgBouncer's test_admin.py checks.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SocketIdsAndConsoleStatsTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const int IdColumn = 20;   // last of SHOW CLIENTS / SERVERS' 21 columns

    private Task<TestPooler> StartAsync(Action<IniBuilder>? more = null) =>
        TestPooler.StartAsync(fixture.Postgres, output, ini =>
        {
            ini.Setting("admin_users", PostgresInstance.AppUser);
            more?.Invoke(ini);
        });

    private static async Task<List<string?[]>> AdminRowsAsync(TestPooler host, string command)
    {
        await using var console = await host.LoginOkAsync(database: "pgbouncer");
        var r = await console.QueryAsync(command, TimeSpan.FromSeconds(10));
        Assert.Null(r.Error);
        return r.ResultSets[0];
    }

    private static async Task<List<long>> ServerIdsAsync(TestPooler host) =>
        [.. (await AdminRowsAsync(host, "SHOW SERVERS")).Select(r => long.Parse(r[IdColumn]!))];

    [Fact]
    public async Task ClientAndItsServer_GetConsecutiveIds_AndLifetimeZeroServersAreUsedOnce()
    {
        await using var host = await StartAsync(ini => ini.Setting("pool_mode", "session").Setting("server_lifetime", 0));

        for (var round = 0; round < 2; round++)
        {
            await using (var app = await host.LoginOkAsync())
            {
                Assert.Null((await app.QueryAsync("SELECT 1")).Error);
                var clients = await AdminRowsAsync(host, "SHOW CLIENTS");
                var appRow = Assert.Single(clients, r => r[2] == PostgresInstance.AppDatabase);
                var clientId = long.Parse(appRow[IdColumn]!);
                // The server was opened for this client, right after it: the next number of the same counter.
                Assert.Equal([clientId + 1], await ServerIdsAsync(host));
            }
            // server_lifetime = 0: the released server is closed, not kept for the next client.
            await WaitUntilAsync(async () => (await ServerIdsAsync(host)).Count == 0);
        }
    }

    [Fact]
    public async Task KilledClient_LeavesShowClientsAtOnce()
    {
        await using var host = await StartAsync();
        await using var app = await host.LoginOkAsync();
        var appRow = Assert.Single(await AdminRowsAsync(host, "SHOW CLIENTS"), r => r[2] == PostgresInstance.AppDatabase);

        await using (var console = await host.LoginOkAsync(database: "pgbouncer"))
        {
            Assert.Null((await console.QueryAsync("KILL_CLIENT " + appRow[IdColumn])).Error);
            var clients = (await console.QueryAsync("SHOW CLIENTS")).ResultSets[0];
            Assert.DoesNotContain(clients, r => r[2] == PostgresInstance.AppDatabase);
            var again = await console.QueryAsync("KILL_CLIENT " + appRow[IdColumn]);
            Assert.Equal("client not found", again.Error?.Fields['M']);
        }
    }

    [Fact]
    public async Task EachConsoleSession_CountsOneTransactionAndQuery()
    {
        await using var host = await StartAsync();
        await using (var first = await host.LoginOkAsync(database: "pgbouncer"))
        {
            // Several commands in one session still count once, as PgBouncer's admin clients do.
            Assert.Null((await first.QueryAsync("SHOW VERSION")).Error);
            Assert.Null((await first.QueryAsync("SHOW VERSION")).Error);
        }
        await AdminRowsAsync(host, "SHOW VERSION");

        var totals = (await AdminRowsAsync(host, "SHOW TOTALS")).ToDictionary(r => r[0]!, r => r[1]);

        Assert.Equal("3", totals["total_xact_count"]);
        Assert.Equal("3", totals["total_query_count"]);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(50);
        }
    }
}
