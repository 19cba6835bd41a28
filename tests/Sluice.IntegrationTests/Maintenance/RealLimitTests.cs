using System.Diagnostics;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using static Sluice.IntegrationTests.Maintenance.MaintenanceKit;

namespace Sluice.IntegrationTests.Maintenance;

/// <summary>Server and client connection limits with real PostgreSQL: sampled backend counts and refusals (53300 for max_client_conn, 08P01 for the client limits, as in PgBouncer).</summary>
[Collection(PostgresCollection.Name)]
public sealed class RealLimitTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    [Fact]
    public async Task ReservePool_ThirdTransactionWaitsReserveTimeout_ThenGetsAReserveServer()
    {
        await using var role = await TestRole.CreateAsync(Pg, "rsv");
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("default_pool_size", 2).Setting("reserve_pool_size", 2).Setting("reserve_pool_timeout", 1),
            users: [role.AuthFileEntry]);
        await using var a = await host.OpenAsync(role.Name, role.Password);
        await using var b = await host.OpenAsync(role.Name, role.Password);
        await using var c = await host.OpenAsync(role.Name, role.Password);
        await using var txA = await a.BeginTransactionAsync();
        await a.ExecAsync("SELECT 1");
        await using var txB = await b.BeginTransactionAsync();
        await b.ExecAsync("SELECT 1");
        Assert.Equal(2, await CountBackendsAsync(Pg, role.Name));

        var sw = Stopwatch.StartNew();
        var pid = await c.ScalarAsync<int>("SELECT pg_backend_pid()");
        sw.Stop();

        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(4));
        var backends = await CountBackendsAsync(Pg, role.Name);
        Assert.Equal(3, backends);
        Assert.True(backends <= 4);
        Assert.Contains(pid, await BackendPidsAsync(Pg, role.Name));
        await txA.CommitAsync();
        await txB.CommitAsync();
    }

    [Fact]
    public async Task MaxDbConnections5_FiveHundredConcurrentClientsOfTwoUsers_NeverMoreThanFiveBackends()
    {
        await using var r1 = await TestRole.CreateAsync(Pg, "mdb");
        await using var r2 = await TestRole.CreateAsync(Pg, "mdb");
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("max_db_connections", 5).Setting("default_pool_size", 20).Setting("max_client_conn", 600),
            users: [r1.AuthFileEntry, r2.AuthFileEntry]);
        await using var sampler = new RolesSampler(Pg, r1.Name, r2.Name);

        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var tasks = Enumerable.Range(0, 500).Select(i => Task.Run(async () =>
        {
            var role = i % 2 == 0 ? r1 : r2;
            try
            {
                await using var conn = await host.OpenAsync(role.Name, role.Password, tweak: b => { b.Timeout = 120; b.CommandTimeout = 120; });
                await using var tx = await conn.BeginTransactionAsync();
                Assert.Equal(i, await conn.ScalarAsync<int>("SELECT $1::int", i));
                await tx.CommitAsync();
            }
            catch (Exception e)
            {
                failures.Add(ErrorText(e));
            }
        })).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromMinutes(3));
        await sampler.StopAsync();

        Assert.True(failures.IsEmpty, $"{failures.Count} clients failed, e.g. {failures.FirstOrDefault()}");
        output.WriteLine($"max backends {sampler.Max} over {sampler.Samples} samples");
        Assert.True(sampler.Samples > 3, "the sampler did not run");
        Assert.InRange(sampler.Max, 1, 5);
    }

    [Fact]
    public async Task MaxUserConnections2_OneUserInTwoDatabases_NeverMoreThanTwoBackends()
    {
        await using var role = await TestRole.CreateAsync(Pg, "muc");
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("max_user_connections", 2).Setting("default_pool_size", 10),
            users: [role.AuthFileEntry]);
        await using var sampler = new RolesSampler(Pg, role.Name);

        var tasks = Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            var database = i % 2 == 0 ? PostgresInstance.AppDatabase : "postgres";
            // Bounded: a pool left with no server behind the other pool's idle ones starves (see the eviction tests below).
            await using var conn = await host.OpenAsync(role.Name, role.Password, database, b => b.Timeout = 30);
            await using var tx = await conn.BeginTransactionAsync();
            await conn.ExecAsync("SELECT pg_sleep(0.02)");
            Assert.Equal(database, await conn.ScalarAsync<string>("SELECT current_database()"));
            await tx.CommitAsync();
        })).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromMinutes(2));
        await sampler.StopAsync();

        output.WriteLine($"max backends {sampler.Max} over {sampler.Samples} samples");
        Assert.InRange(sampler.Max, 1, 2);
    }

    [Fact]
    public async Task MaxUserConnections_IdleServersOfAnotherPool_AreEvictedForAWaitingClient()
    {
        // PgBouncer (launch_new_connection → evict_user_connection) closes an idle server of another pool of the same
        // user when max_user_connections is reached, so a pool with no server of its own is not starved.
        await using var role = await TestRole.CreateAsync(Pg, "evu");
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("max_user_connections", 2).Setting("default_pool_size", 5).Setting("query_wait_timeout", 8),
            users: [role.AuthFileEntry]);
        await using (var a = await host.OpenAsync(role.Name, role.Password))
        await using (var b = await host.OpenAsync(role.Name, role.Password))
        {
            await using var txA = await a.BeginTransactionAsync();
            await a.ExecAsync("SELECT 1");
            await using var txB = await b.BeginTransactionAsync();
            await b.ExecAsync("SELECT 1");
            await txA.CommitAsync();
            await txB.CommitAsync();
        }
        Assert.Equal(2, await Pg.CountBackendsAsync(role.Name, PostgresInstance.AppDatabase));   // both slots idle in appdb's pool

        var sw = Stopwatch.StartNew();
        await using var other = await host.OpenAsync(role.Name, role.Password, "postgres", b => b.Timeout = 20);
        Assert.Equal("postgres", await other.ScalarAsync<string>("SELECT current_database()"));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"the postgres pool waited {sw.Elapsed} for a user slot");
        Assert.True(await CountBackendsAsync(Pg, role.Name) <= 2);
    }

    [Fact]
    public async Task MaxDbConnections_IdleServersOfAnotherUsersPool_AreEvictedForAWaitingClient()
    {
        // Same for max_db_connections (PgBouncer's evict_connection): user B's pool must not starve behind user A's idle servers.
        await using var r1 = await TestRole.CreateAsync(Pg, "evd");
        await using var r2 = await TestRole.CreateAsync(Pg, "evd");
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("max_db_connections", 2).Setting("default_pool_size", 5).Setting("query_wait_timeout", 8),
            users: [r1.AuthFileEntry, r2.AuthFileEntry]);
        await using (var a = await host.OpenAsync(r1.Name, r1.Password))
        await using (var b = await host.OpenAsync(r1.Name, r1.Password))
        {
            await using var txA = await a.BeginTransactionAsync();
            await a.ExecAsync("SELECT 1");
            await using var txB = await b.BeginTransactionAsync();
            await b.ExecAsync("SELECT 1");
            await txA.CommitAsync();
            await txB.CommitAsync();
        }
        Assert.Equal(2, await CountBackendsAsync(Pg, r1.Name));

        var sw = Stopwatch.StartNew();
        await using var other = await host.OpenAsync(r2.Name, r2.Password, tweak: b => b.Timeout = 20);
        Assert.Equal(r2.Name, await other.ScalarAsync<string>("SELECT current_user"));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"the second user's pool waited {sw.Elapsed} for a database slot");
        Assert.True(await CountBackendsAsync(Pg, r1.Name, r2.Name) <= 2);
    }

    [Fact]
    public async Task MaxClientConn_ExtraClientGets53300_AndIsAdmittedOnceAnotherLeaves()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("max_client_conn", 3));
        var open = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                open.Add(await host.OpenAsync());
            }

            var error = await ThrowsAnyAsync(async () => { await using var extra = await host.OpenAsync(); });
            Assert.Equal("53300", SqlState(error));
            Assert.Contains("no more connections allowed (max_client_conn)", ErrorText(error));

            await open[0].DisposeAsync();
            open.RemoveAt(0);
            await Task.Delay(200);
            await using var admitted = await host.OpenAsync();
            Assert.Equal(1, await admitted.ScalarAsync<int>("SELECT 1"));
        }
        finally
        {
            foreach (var c in open)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task MaxDbClientConnections_ThirdClientOfTheDatabaseIsRefused_OtherDatabaseUnaffected()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("max_db_client_connections", 2));
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync();

        var error = await ThrowsAnyAsync(async () => { await using var extra = await host.OpenAsync(); });
        Assert.Equal("08P01", SqlState(error));   // PgBouncer's pooler-error code and text
        Assert.Contains("client connections exceeded (max_db_client_connections)", ErrorText(error));

        await using var other = await host.OpenAsync(database: "postgres");
        Assert.Equal("postgres", await other.ScalarAsync<string>("SELECT current_database()"));

        await a.DisposeAsync();
        await Task.Delay(200);
        await using var admitted = await host.OpenAsync();
        Assert.Equal(1, await admitted.ScalarAsync<int>("SELECT 1"));
    }

    [Fact]
    public async Task MaxUserClientConnections_ThirdClientOfTheUserIsRefused_OtherUserUnaffected()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("max_user_client_connections", 2));
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync(database: "postgres");   // the limit counts the user across databases

        var error = await ThrowsAnyAsync(async () => { await using var extra = await host.OpenAsync(); });
        Assert.Equal("08P01", SqlState(error));   // PgBouncer's pooler-error code and text
        Assert.Contains("client connections exceeded (max_user_client_connections)", ErrorText(error));

        await using var other = await host.OpenAsync(PostgresInstance.ScramUser, PostgresInstance.ScramPassword);
        Assert.Equal(PostgresInstance.ScramUser, await other.ScalarAsync<string>("SELECT current_user"));

        await b.DisposeAsync();
        await Task.Delay(200);
        await using var admitted = await host.OpenAsync();
        Assert.Equal(1, await admitted.ScalarAsync<int>("SELECT 1"));
    }

    [Fact]
    public async Task MinPoolSize3_ThreeBackendsAppearAfterTheFirstClient()
    {
        await using var role = await TestRole.CreateAsync(Pg, "minp");
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("min_pool_size", 3).Setting("default_pool_size", 10),
            users: [role.AuthFileEntry]);
        await Task.Delay(1200);   // two janitor periods with no client: nothing is opened
        Assert.Equal(0, await CountBackendsAsync(Pg, role.Name));

        await using var client = await host.OpenAsync(role.Name, role.Password);
        await EventuallyAsync(async () => await CountBackendsAsync(Pg, role.Name) == 3, "min_pool_size backends", TimeSpan.FromSeconds(5));

        await Task.Delay(1200);
        Assert.Equal(3, await CountBackendsAsync(Pg, role.Name));   // the minimum, not more
        Assert.Equal(1, await client.ScalarAsync<int>("SELECT 1"));
    }
}
