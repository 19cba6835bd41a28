using System.Diagnostics;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Hostile;

/// <summary>
/// Clients that try to exhaust the pooler: logins that never finish (client_login_timeout), connection floods past
/// max_client_conn, and a client that never reads a large result (backpressure must stay per connection).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ResourceExhaustionTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    /// <summary>
    /// client_login_timeout = 2: 50 connections that send half a startup packet and stall are all closed after
    /// about 2 s; meanwhile a new client logs in at once.
    /// </summary>
    [Fact]
    public async Task HalfStartupPackets_AreClosedByClientLoginTimeout_WhileOthersLogIn()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("client_login_timeout", 2));
        await using var bystander = await Bystander.OpenAsync(host);

        var startup = PgWire.Startup(("user", "app"), ("database", "appdb"));
        var slow = new List<RawPgClient>();
        try
        {
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < 50; i++)
            {
                var c = await RawPgClient.ConnectAsync(host.Port);
                slow.Add(c);
                await c.SendAsync(startup.AsMemory(0, startup.Length / 2));
            }
            var waits = slow.Select(c => c.ReadUntilClosedAsync(TimeSpan.FromSeconds(8))).ToArray();

            // While they stall, a well-behaved client logs in and works.
            var loginSw = Stopwatch.StartNew();
            await using (var conn = await host.OpenAsync())
            {
                Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));
            }
            Assert.True(loginSw.Elapsed < TimeSpan.FromSeconds(1.5), $"login took {loginSw.Elapsed} while slow clients stalled");

            var outcomes = await Task.WhenAll(waits);
            var elapsed = sw.Elapsed;
            output.WriteLine($"all closed after {elapsed.TotalSeconds:F2}s; first: {outcomes[0]}");
            Assert.All(outcomes, o => Assert.True(o.Closed && !o.LoggedIn, o.ToString()));
            Assert.All(outcomes, o => Assert.True(o.Elapsed > TimeSpan.FromSeconds(0.5), $"closed too early: {o}"));
            Assert.True(elapsed < TimeSpan.FromSeconds(6), $"stalled logins lasted {elapsed}");
        }
        finally
        {
            foreach (var c in slow)
            {
                await c.DisposeAsync();
            }
        }

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>
    /// Logins that stall after the startup packet (never answer the password request) hold a max_client_conn slot
    /// only until client_login_timeout; then the slots are free again.
    /// </summary>
    [Fact]
    public async Task StalledPasswordExchange_IsClosedByClientLoginTimeout_AndFreesItsSlot()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("client_login_timeout", 2).Setting("max_client_conn", 10));
        await using var bystander = await Bystander.OpenAsync(host);

        var stalled = new List<RawPgClient>();
        try
        {
            for (var i = 0; i < 9; i++)
            {
                var c = await RawPgClient.ConnectAsync(host.Port);
                stalled.Add(c);
                await c.SendAsync(PgWire.Startup(("user", "app"), ("database", "appdb")));
                Assert.Equal(5, (await c.ReadAsync())?.AuthCode);
            }
            // 1 bystander + 9 stalled = max_client_conn: the next one is refused for now.
            var full = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync());
            Assert.Equal("53300", full.SqlState);

            var outcomes = await Task.WhenAll(stalled.Select(c => c.ReadUntilClosedAsync(TimeSpan.FromSeconds(8))));
            output.WriteLine(outcomes[0].ToString());
            Assert.All(outcomes, o => Assert.True(o.Closed && !o.LoggedIn, o.ToString()));
        }
        finally
        {
            foreach (var c in stalled)
            {
                await c.DisposeAsync();
            }
        }

        await HostileAssert.WaitForAsync(() => host.Pooler.ClientCount <= 1, TimeSpan.FromSeconds(5), "the stalled clients' slots to be freed");
        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>
    /// max_client_conn = 20 and 100 simultaneous raw connections completing the startup packet: exactly the free
    /// slots are admitted (an md5 request), the others get 53300 "no more connections allowed (max_client_conn)";
    /// after the flood closes, counts are back and new clients log in.
    /// </summary>
    [Fact]
    public async Task ConnectionFlood_PastMaxClientConn_Gets53300_AndSlotsAreFreedAfterwards()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("max_client_conn", 20));
        await using var bystander = await Bystander.OpenAsync(host);
        Assert.Equal(1, host.Pooler.ClientCount);

        var startup = PgWire.Startup(("user", "app"), ("database", "appdb"));
        var clients = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            var c = await RawPgClient.ConnectAsync(host.Port);
            await c.SendAsync(startup);
            return c;
        }));
        try
        {
            var firsts = await Task.WhenAll(clients.Select(c => c.ReadAsync(TimeSpan.FromSeconds(10))));
            var admitted = firsts.Count(m => m?.AuthCode == 5);
            var refused = firsts.Where(m => m?.Type == 'E').ToList();
            output.WriteLine($"admitted {admitted}, refused {refused.Count}, other {100 - admitted - refused.Count}");
            Assert.Equal(19, admitted);
            Assert.Equal(81, refused.Count);
            Assert.All(refused, e =>
            {
                Assert.Equal("53300", e!.Fields['C']);
                Assert.Equal("no more connections allowed (max_client_conn)", e.Fields['M']);
            });
            Assert.Equal(20, host.Pooler.ClientCount);

            // The refused ones are closed by the pooler.
            var refusedClients = clients.Where((_, i) => firsts[i]?.Type == 'E').ToArray();
            var closed = await Task.WhenAll(refusedClients.Select(c => c.WaitForCloseAsync(TimeSpan.FromSeconds(5))));
            Assert.All(closed, Assert.True);

            // The bystander, already admitted, keeps working during the flood.
            var full = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync());
            Assert.Equal("53300", full.SqlState);
        }
        finally
        {
            foreach (var c in clients)
            {
                c.Abort();
            }
        }

        await HostileAssert.WaitForAsync(() => host.Pooler.ClientCount == 1, TimeSpan.FromSeconds(5), "ClientCount back to 1 after the flood");
        // Every slot is usable again: 19 clients at the same time.
        var again = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < 19; i++)
            {
                again.Add(await host.OpenAsync());
            }
            Assert.Equal(1, await again[^1].ScalarAsync<int>("SELECT 1"));
        }
        finally
        {
            foreach (var c in again)
            {
                await c.DisposeAsync();
            }
        }
        await HostileAssert.WaitForAsync(() => host.Pooler.ClientCount == 1, TimeSpan.FromSeconds(5), "ClientCount back to 1");
        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>
    /// A client sends a query with a ~50 MB result and never reads (small receive window). PostgreSQL ends up
    /// blocked writing (backpressure reaches the server), Sluice's memory stays bounded, other clients keep working;
    /// when the client disconnects the server connection is closed (not leaked) and later clients get servers.
    /// </summary>
    [Fact]
    public async Task ClientThatNeverReads_LargeResult_BackpressureIsPerConnection_AndServerIsNotLeaked()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("default_pool_size", 4)
            .Setting("query_wait_timeout", 5));
        await using var bystander = await Bystander.OpenAsync(host);
        await using var admin = new NpgsqlConnection(Pg.ConnectionString());
        await admin.OpenAsync();

        var marker = Sql.UniqueName("stuck");
        var sql = $"SELECT repeat('x', 1000000) AS {marker} FROM generate_series(1,50)";
        var (allocatedBefore, workingSetBefore) = HostileAssert.Memory();

        var stuck = await RawPgClient.LoginOkAsync(host.Port, PostgresInstance.AppUser, PostgresInstance.AppDatabase, PostgresInstance.AppPassword, receiveBufferSize: 4096);
        try
        {
            await stuck.SendAsync(PgWire.Query(sql));

            // Backpressure reaches PostgreSQL: its backend waits in ClientWrite, with the query still active.
            string? waitEvent = null;
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < TimeSpan.FromSeconds(20))
            {
                waitEvent = await admin.ScalarAsync<string>(
                    $"SELECT wait_event FROM pg_stat_activity WHERE query LIKE '%{marker}%' AND pid <> pg_backend_pid() AND state = 'active'");
                if (waitEvent == "ClientWrite")
                {
                    break;
                }
                await Task.Delay(100);
            }
            Assert.Equal("ClientWrite", waitEvent);
            await Task.Delay(1000);

            var (allocatedStuck, workingSetStuck) = HostileAssert.Memory();
            output.WriteLine($"while stuck: allocated +{(allocatedStuck - allocatedBefore) / (1024 * 1024)} MB, working set {(workingSetStuck - workingSetBefore) / (1024 * 1024)} MB");
            Assert.True(allocatedStuck - allocatedBefore < 50L * 1024 * 1024, $"{(allocatedStuck - allocatedBefore) / (1024 * 1024)} MB allocated while a client does not read");
            Assert.True(workingSetStuck - workingSetBefore < 50L * 1024 * 1024, $"working set grew {(workingSetStuck - workingSetBefore) / (1024 * 1024)} MB");

            // Others keep working meanwhile: the bystander's server, and new clients with servers of their own.
            await using (var a = await host.OpenAsync())
            await using (var b = await host.OpenAsync())
            {
                await a.ExecAsync("BEGIN");
                Assert.Equal(1, await a.ScalarAsync<int>("SELECT 1"));
                Assert.Equal(2, await b.ScalarAsync<int>("SELECT 2"));
                await a.ExecAsync("COMMIT");
            }
        }
        finally
        {
            stuck.Abort();
        }

        // The stuck server connection is closed (its backend goes away), not returned dirty or leaked.
        var gone = Stopwatch.StartNew();
        long left;
        do
        {
            await Task.Delay(100);
            left = await admin.ScalarAsync<long>($"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%{marker}%' AND pid <> pg_backend_pid()");
        }
        while (left > 0 && gone.Elapsed < TimeSpan.FromSeconds(10));
        Assert.True(left == 0, $"the backend of the abandoned query is still there after {gone.Elapsed}\n{host.LogTail(20)}");

        // All pool slots are usable: the bystander holds one, three more concurrent transactions get the other three
        // (a leaked slot would make one of them wait into query_wait_timeout).
        var holders = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var h = await host.OpenAsync();
                holders.Add(h);
                await h.ExecAsync("BEGIN");
                Assert.Equal(1, await h.ScalarAsync<int>("SELECT 1"));
            }
            var pids = new HashSet<int>();
            foreach (var h in holders)
            {
                pids.Add(await h.ScalarAsync<int>("SELECT pg_backend_pid()"));
                await h.ExecAsync("COMMIT");
            }
            Assert.Equal(3, pids.Count);
        }
        finally
        {
            foreach (var h in holders)
            {
                await h.DisposeAsync();
            }
        }

        await bystander.AssertUnaffectedAsync();
    }
}
