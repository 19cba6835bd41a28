using Microsoft.Extensions.Time.Testing;
using Sluice.Admin;
using Sluice.Config;
using Sluice.Stats;
using Sluice.Testing.Wire;

namespace Sluice.Tests.Admin;

/// <summary>Values the SHOW commands compute from config and pool state.</summary>
public sealed class AdminValuesTests
{
    [Fact]
    public void Config_ListsEverySettingWithValueDefaultAndChangeable()
    {
        var rows = AdminTestKit.Records(AdminTestKit.Run(AdminTestKit.NewPooler(), "SHOW CONFIG"));

        Assert.Equal(SettingsTable.All.Select(s => s.Name), rows.Select(r => r["key"]));
        var poolMode = rows.Single(r => r["key"] == "pool_mode");
        Assert.Equal("transaction", poolMode["value"]);
        Assert.Equal("session", poolMode["default"]);
        Assert.Equal("yes", poolMode["changeable"]);
        Assert.Equal("no", rows.Single(r => r["key"] == "listen_port")["changeable"]);
        Assert.Equal("6543", rows.Single(r => r["key"] == "listen_port")["value"]);
    }

    [Fact]
    public void Databases_ShowEffectiveValuesAndTheConsoleDatabase()
    {
        var rows = AdminTestKit.Records(AdminTestKit.Run(AdminTestKit.NewPooler(), "SHOW DATABASES"));

        Assert.Equal(["appdb", "multi", "pgbouncer"], rows.Select(r => r["name"]));
        var app = rows[0];
        Assert.Equal("127.0.0.1", app["host"]);
        Assert.Equal("app", app["database"]);
        Assert.Null(app["force_user"]);
        Assert.Equal("7", app["pool_size"]);
        Assert.Null(app["pool_mode"]);
        Assert.Null(app["load_balance_hosts"]);
        Assert.Equal("3600", app["server_lifetime"]);
        Assert.Equal("round-robin", rows[1]["load_balance_hosts"]);
        Assert.Equal("20", rows[1]["pool_size"]);
        var console = rows[2];
        Assert.Equal("6543", console["port"]);
        Assert.Equal("pgbouncer", console["force_user"]);
        Assert.Equal("statement", console["pool_mode"]);
    }

    [Fact]
    public void Users_PadPoolSizesAndLeaveUnsetModeNull()
    {
        var rows = AdminTestKit.Records(AdminTestKit.Run(AdminTestKit.NewPooler(), "SHOW USERS"));

        var alice = rows.Single(r => r["name"] == "alice");
        Assert.Equal("        3", alice["pool_size"]);
        Assert.Equal("", alice["reserve_pool_size"]);
        Assert.Equal("session", alice["pool_mode"]);
        var console = rows.Single(r => r["name"] == "pgbouncer");
        Assert.Null(console["pool_mode"]);
        Assert.Equal("", console["pool_size"]);
    }

    [Fact]
    public void Pools_AlwaysListTheConsolePool()
    {
        var rows = AdminTestKit.Records(AdminTestKit.Run(AdminTestKit.NewPooler(), "SHOW POOLS"));

        var console = Assert.Single(rows);
        Assert.Equal("pgbouncer", console["database"]);
        Assert.Equal("pgbouncer", console["user"]);
        Assert.Equal("0", console["cl_active"]);
        Assert.Equal("statement", console["pool_mode"]);
        Assert.Null(console["load_balance_hosts"]);
    }

    [Fact]
    public void Stats_HasARowPerDatabase()
    {
        var rows = AdminTestKit.Records(AdminTestKit.Run(AdminTestKit.NewPooler(), "SHOW STATS"));

        Assert.Equal(["appdb", "multi", "pgbouncer"], rows.Select(r => r["database"]));
        Assert.All(rows, r => Assert.Equal("0", r["total_query_count"]));
    }

    [Fact]
    public void StateListsAndVersion()
    {
        var pooler = AdminTestKit.NewPooler();

        var state = AdminTestKit.Records(AdminTestKit.Run(pooler, "SHOW STATE")).ToDictionary(r => r["key"]!, r => r["value"]);
        var lists = AdminTestKit.Records(AdminTestKit.Run(pooler, "SHOW LISTS")).Select(r => r["list"]).ToList();
        var version = AdminTestKit.Run(pooler, "SHOW VERSION")[1].Values.Single();

        Assert.Equal(new Dictionary<string, string?> { ["active"] = "yes", ["paused"] = "no", ["suspended"] = "no" }, state);
        Assert.Equal(
            ["databases", "users", "peers", "pools", "peer_pools", "free_clients", "used_clients", "login_clients",
             "free_servers", "used_servers", "dns_names", "dns_zones", "dns_queries", "dns_pending"],
            lists);
        Assert.Matches(@"^PgBouncer 1\.25\.\d+ \(Sluice .+\)$", version);
    }

    [Fact]
    public void Sampler_AveragesStayZeroUntilAPeriodHasPassed_ThenAreRatesAndMeans()
    {
        var time = new FakeTimeProvider();
        var sampler = new StatsSampler();
        var period = TimeSpan.FromSeconds(10);
        var start = new PoolStatsSnapshot(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        var later = new PoolStatsSnapshot(20, 50, 100, 1000, 2000, 5000, 3000, 400, 10, 20, 30, 0);

        Assert.Empty(sampler.Update(time, period, new Dictionary<string, PoolStatsSnapshot> { ["db"] = start }));
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty(sampler.Update(time, period, new Dictionary<string, PoolStatsSnapshot> { ["db"] = later }));
        time.Advance(TimeSpan.FromSeconds(5));
        var averages = sampler.Update(time, period, new Dictionary<string, PoolStatsSnapshot> { ["db"] = later });

        var a = averages["db"];
        Assert.Equal(2, a.ServerAssignmentCount);   // per second
        Assert.Equal(5, a.XactCount);
        Assert.Equal(10, a.QueryCount);
        Assert.Equal(100, a.BytesReceived);
        Assert.Equal(200, a.BytesSent);
        Assert.Equal(100, a.XactTimeUs);             // mean per transaction
        Assert.Equal(30, a.QueryTimeUs);             // mean per query
        Assert.Equal(20, a.WaitTimeUs);              // mean per assignment
        Assert.Equal(1, a.ClientParseCount);
        Assert.Equal(3, a.BindCount);

        // Held until the next period ends.
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(a, sampler.Update(time, period, new Dictionary<string, PoolStatsSnapshot> { ["db"] = later })["db"]);
    }

    [Theory]
    [InlineData("C-3: appdb/app@127.0.0.1:5555", "appdb", "app", "127.0.0.1", 5555)]
    [InlineData("C-3: my/db/bob@[::1]:6000", "my/db", "bob", "::1", 6000)]
    [InlineData("C-3: appdb/app@unix", "appdb", "app", "unix", null)]
    [InlineData("C-3: 10.1.2.3:40000", null, null, "10.1.2.3", 40000)]
    public void ClientPeer_IsSplitIntoUserAndAddress(string peer, string? database, string? user, string? addr, int? port)
    {
        Assert.Equal((user, addr, port), ShowConnections.ParsePeer(peer, database));
    }

    [Fact]
    public void Timestamps_AreTextWithZone()
    {
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$", AdminFormat.Timestamp(DateTimeOffset.UtcNow));
    }
}
