using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>Tracked startup parameters (TimeZone, application_name) follow each client across a shared server.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ParameterTrackingTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    private static async Task AssertSeesAsync(NpgsqlConnection conn, string timeZone, string appName, bool inTransaction)
    {
        NpgsqlTransaction? tx = inTransaction ? await conn.BeginTransactionAsync() : null;
        try
        {
            Assert.Equal(timeZone, await conn.ScalarAsync<string>("SHOW TimeZone"));
            Assert.Equal(appName, await conn.ScalarAsync<string>("SELECT current_setting('application_name')"));
            if (tx is not null)
            {
                await tx.CommitAsync();
            }
        }
        finally
        {
            if (tx is not null)
            {
                await tx.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task TwoClients_SharingOneServer_EachSeeTheirOwnTimeZoneAndApplicationName()
    {
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", "transaction").Setting("default_pool_size", 1));
        await using var a = await host.OpenAsync(tweak: b => { b.Timezone = "America/New_York"; b.ApplicationName = "a1"; });
        await using var b = await host.OpenAsync(tweak: b => { b.Timezone = "Europe/Berlin"; b.ApplicationName = "a2"; });

        for (var round = 0; round < 25; round++)
        {
            var inTx = round % 2 == 0;
            await AssertSeesAsync(a, "America/New_York", "a1", inTx);
            await AssertSeesAsync(b, "Europe/Berlin", "a2", inTx);
            await AssertSeesAsync(b, "Europe/Berlin", "a2", !inTx);
            await AssertSeesAsync(a, "America/New_York", "a1", !inTx);
        }
        Assert.Equal(await a.ScalarAsync<int>("SELECT pg_backend_pid()"), await b.ScalarAsync<int>("SELECT pg_backend_pid()"));
    }

    [Fact]
    public async Task ConcurrentClients_WithDifferentTimeZones_NeverSeeEachOthers()
    {
        var zones = new[] { "America/New_York", "Europe/Berlin", "Asia/Tokyo", "UTC", "Australia/Sydney", "Europe/Paris" };
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", "transaction").Setting("default_pool_size", 2));
        var conns = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < zones.Length; i++)
            {
                var zone = zones[i];
                var app = "app" + i;
                conns.Add(await host.OpenAsync(tweak: b => { b.Timezone = zone; b.ApplicationName = app; }));
            }
            var workers = conns.Select((conn, i) => Task.Run(async () =>
            {
                for (var round = 0; round < 20; round++)
                {
                    await AssertSeesAsync(conn, zones[i], "app" + i, round % 2 == 0);
                }
            })).ToArray();
            await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            foreach (var c in conns)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task SetOfTrackedParameter_IsRememberedForThatClientOnly()
    {
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", "transaction").Setting("default_pool_size", 1));
        await using var a = await host.OpenAsync(tweak: b => b.Timezone = "America/New_York");
        await using var b = await host.OpenAsync(tweak: b => b.Timezone = "Europe/Berlin");

        await a.ExecAsync("SET TimeZone = 'Asia/Tokyo'");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("Europe/Berlin", await b.ScalarAsync<string>("SHOW TimeZone"));
            Assert.Equal("Asia/Tokyo", await a.ScalarAsync<string>("SHOW TimeZone"));
        }
    }
}
