using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>The '*' entry: a name it serves is registered (and logged) once, and forgotten after autodb_idle_timeout unused.</summary>
[Collection(PostgresCollection.Name)]
public sealed class AutoDatabaseTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    private static int Count(TestPooler host, string text) => host.LogLines.Count(l => l.Contains(text, StringComparison.Ordinal));

    [Fact]
    public async Task AutoDatabase_IsLoggedWhenFirstRegistered()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Database("*", Pg.LibpqConnectString(PostgresInstance.AppDatabase)));
        for (var i = 0; i < 2; i++)
        {
            await using var conn = await host.OpenAsync(database: "someauto");
            Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));
        }
        Assert.Equal(1, Count(host, "registered new auto-database: someauto"));
    }

    [Fact]
    public async Task UnusedAutoDatabase_IsForgottenAfterAutodbIdleTimeout()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Database("*", Pg.LibpqConnectString(PostgresInstance.AppDatabase))
            .Setting("server_idle_timeout", 1)
            .Setting("autodb_idle_timeout", 1));
        await using (var conn = await host.OpenAsync(database: "idleauto"))
        {
            Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.Contains(host.Pooler.Pools.All, p => p.Key.Database == "idleauto");   // a client keeps it
        }

        // The server goes after server_idle_timeout, then the database after autodb_idle_timeout.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (host.Pooler.Pools.All.Any(p => p.Key.Database == "idleauto") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        Assert.DoesNotContain(host.Pooler.Pools.All, p => p.Key.Database == "idleauto");

        await using var again = await host.OpenAsync(database: "idleauto");
        Assert.Equal(1, await again.ScalarAsync<int>("SELECT 1"));
        Assert.Equal(2, Count(host, "registered new auto-database: idleauto"));
    }
}
