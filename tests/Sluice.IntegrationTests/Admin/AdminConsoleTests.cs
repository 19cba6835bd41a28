using Sluice.Testing.Admin;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Admin;

/// <summary>The console through real psql (and Npgsql), Sluice hosted in process against the fixture's PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class AdminConsoleTests
{
    private readonly PostgresFixture _fixture;

    public AdminConsoleTests(PostgresFixture fixture) => _fixture = fixture;

    public static TheoryData<string> ShowCommands => new(ExpectedColumns.ByCommand.Keys.Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(ShowCommands))]
    public async Task Show_HeaderMatchesPgBouncer125(string command)
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);
        // A client and a server exist, so the per-connection commands print rows too.
        await using var client = new NpgsqlConnection(host.ConnectionString(PostgresInstance.AppUser, PostgresInstance.AppPassword));
        await client.OpenAsync();

        var result = await host.ConsoleAsync("SHOW " + command);

        Assert.True(result.Success, result.ToString());
        Assert.Equal(ExpectedColumns.NamesOf(command), result.Header);
        foreach (var row in result.Rows)
        {
            Assert.Equal(result.Header.Length, row.Length);
        }
    }

    [Fact]
    public async Task Show_IsCaseInsensitive_AndSelectIsASynonym()
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);

        var lower = await host.ConsoleAsync("show version;");
        var select = await host.ConsoleAsync("SELECT VERSION");

        Assert.True(lower.Success, lower.ToString());
        Assert.True(select.Success, select.ToString());
        Assert.Equal(["version"], lower.Header);
        Assert.StartsWith("PgBouncer 1.25", lower.Rows.Single()[0]);
        Assert.Equal(lower.StdOut, select.StdOut);
    }

    [Fact]
    public async Task ShowStats_CountsEveryQueryAndTransaction()
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);
        await using var client = new NpgsqlConnection(host.ConnectionString(PostgresInstance.AppUser, PostgresInstance.AppPassword));
        await client.OpenAsync();
        await using (var warm = new NpgsqlCommand("SELECT 1", client))
        {
            await warm.ExecuteScalarAsync();
        }
        var before = await StatsRowAsync(host);

        const int queries = 7;
        for (var i = 0; i < queries; i++)
        {
            await using var cmd = new NpgsqlCommand($"SELECT {i}", client);
            Assert.Equal(i, await cmd.ExecuteScalarAsync());
        }
        var after = await StatsRowAsync(host);

        Assert.Equal(queries, long.Parse(after["total_query_count"]) - long.Parse(before["total_query_count"]));
        Assert.Equal(queries, long.Parse(after["total_xact_count"]) - long.Parse(before["total_xact_count"]));
        Assert.True(long.Parse(after["total_received"]) > long.Parse(before["total_received"]));
        Assert.True(long.Parse(after["total_sent"]) > long.Parse(before["total_sent"]));

        var totals = (await host.ConsoleAsync("SHOW STATS_TOTALS")).Records().Single(r => r["database"] == PostgresInstance.AppDatabase);
        Assert.Equal(after["total_query_count"], totals["query_count"]);
        var overall = (await host.ConsoleAsync("SHOW TOTALS")).Records().ToDictionary(r => r["name"], r => r["value"]);
        // SHOW TOTALS adds the console's own row: one query per console session (the four psql runs), as PgBouncer.
        Assert.Equal(long.Parse(after["total_query_count"]) + 4, long.Parse(overall["total_query_count"]));
        Assert.Equal(22, overall.Count);
    }

    private static async Task<Dictionary<string, string>> StatsRowAsync(TestPooler host)
    {
        var result = await host.ConsoleAsync("SHOW STATS", TestUsers.Stats, TestUsers.StatsPassword);
        Assert.True(result.Success, result.ToString());
        return result.Records().Single(r => r["database"] == PostgresInstance.AppDatabase);
    }

    [Fact]
    public async Task ShowPools_CountsWhatTheTestOpened()
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);
        await using var idle = new NpgsqlConnection(host.ConnectionString(PostgresInstance.AppUser, PostgresInstance.AppPassword));
        await using var busy = new NpgsqlConnection(host.ConnectionString(PostgresInstance.AppUser, PostgresInstance.AppPassword));
        await idle.OpenAsync();
        await busy.OpenAsync();
        // busy holds a server in its transaction, so idle's query needs a second one, which stays idle after it.
        await using var tx = await busy.BeginTransactionAsync();
        await using (var cmd = new NpgsqlCommand("SELECT 1", busy, tx))
        {
            await cmd.ExecuteScalarAsync();
        }
        await using (var cmd = new NpgsqlCommand("SELECT 1", idle))
        {
            await cmd.ExecuteScalarAsync();
        }

        var result = await host.ConsoleAsync("SHOW POOLS");

        Assert.True(result.Success, result.ToString());
        var pools = result.Records();
        var app = pools.Single(r => r["database"] == PostgresInstance.AppDatabase && r["user"] == PostgresInstance.AppUser);
        Assert.Equal("2", app["cl_active"]);
        Assert.Equal("0", app["cl_waiting"]);
        Assert.Equal("1", app["sv_active"]);
        Assert.True(int.Parse(app["sv_idle"]) >= 1, result.ToString());
        Assert.Equal("0", app["sv_login"]);
        Assert.Equal("0", app["maxwait"]);
        Assert.Equal("transaction", app["pool_mode"]);
        var console = pools.Single(r => r["database"] == "pgbouncer");
        Assert.Equal("pgbouncer", console["user"]);
        Assert.Equal("1", console["cl_active"]);
        Assert.Equal("statement", console["pool_mode"]);

        var servers = (await host.ConsoleAsync("SHOW SERVERS")).Records();
        Assert.Contains(servers, s => s["type"] == "S" && s["state"] == "active" && s["link"] != "" && s["database"] == PostgresInstance.AppDatabase);
        Assert.All(servers, s => Assert.Equal(PostgresInstance.AppUser, s["user"]));
        Assert.All(servers, s => Assert.True(int.Parse(s["remote_pid"]) > 0));

        var clients = (await host.ConsoleAsync("SHOW CLIENTS")).Records();
        var appClients = clients.Where(c => c["database"] == PostgresInstance.AppDatabase).ToList();
        Assert.Equal(2, appClients.Count);
        Assert.All(appClients, c => Assert.Equal(PostgresInstance.AppUser, c["user"]));
        Assert.All(appClients, c => Assert.Equal("127.0.0.1", c["addr"]));
        Assert.All(appClients, c => Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$", c["connect_time"]));
        Assert.Single(appClients, c => c["state"] == "active");
        Assert.Single(appClients, c => c["state"] == "idle");
        var self = clients.Single(c => c["database"] == "pgbouncer");
        Assert.Equal(TestUsers.Admin, self["user"]);
        Assert.Equal("active", self["state"]);
        // The busy client's link is its server's ptr and the other way round.
        var linked = appClients.Single(c => c["state"] == "active");
        Assert.Contains(servers, s => s["ptr"] == linked["link"] && s["link"] == linked["ptr"]);
    }

    [Fact]
    public async Task ShowDatabasesAndUsers_ListConfiguredEntries()
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);

        var databases = (await host.ConsoleAsync("SHOW DATABASES")).Records();
        var app = databases.Single(d => d["name"] == PostgresInstance.AppDatabase);
        Assert.Equal("127.0.0.1", app["host"]);
        Assert.Equal(_fixture.Port.ToString(), app["port"]);
        Assert.Equal("5", app["pool_size"]);
        Assert.Equal("", app["pool_mode"]);
        Assert.Contains(databases, d => d["name"] == "pgbouncer" && d["pool_mode"] == "statement");

        var users = (await host.ConsoleAsync("SHOW USERS")).Records().Select(u => u["name"]).ToList();
        Assert.Contains(TestUsers.Admin, users);
        Assert.Contains(TestUsers.Stats, users);
        Assert.Contains("pgbouncer", users);
    }

    [Fact]
    public async Task ShowConfig_ReportsEffectiveValuesDefaultsAndChangeability()
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);

        var config = (await host.ConsoleAsync("SHOW CONFIG")).Records().ToDictionary(r => r["key"]);

        Assert.Equal(Sluice.Config.SettingsTable.All.Count, config.Count);
        Assert.Equal("5", config["default_pool_size"]["value"]);
        Assert.Equal("20", config["default_pool_size"]["default"]);
        Assert.Equal("yes", config["default_pool_size"]["changeable"]);
        Assert.Equal("no", config["listen_port"]["changeable"]);
        Assert.Equal("transaction", config["pool_mode"]["value"]);
    }

    [Fact]
    public async Task ShowHelp_IsANotice()
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);

        var result = await host.ConsoleAsync("SHOW HELP");

        Assert.True(result.Success, result.ToString());
        Assert.Contains("NOTICE:  Console usage", result.StdErr);
        Assert.Contains("SHOW HELP|CONFIG|DATABASES", result.StdErr);
    }

    [Fact]
    public async Task FakeParameters_AreAnswered()
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);

        var encoding = await host.ConsoleAsync("SHOW client_encoding");
        var set = await host.ConsoleAsync("SET client_encoding = 'UTF8'");

        Assert.Equal(["client_encoding"], encoding.Header);
        Assert.Equal("UTF-8", encoding.Rows.Single()[0]);
        Assert.True(set.Success, set.ToString());
        Assert.Contains("SET ignored", set.StdErr);
    }

    [Fact]
    public async Task StatsUser_CanShowButNotReload()
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);

        var show = await host.ConsoleAsync("SHOW POOLS", TestUsers.Stats, TestUsers.StatsPassword);
        var reload = await host.ConsoleAsync("RELOAD", TestUsers.Stats, TestUsers.StatsPassword);
        var fds = await host.ConsoleAsync("SHOW FDS", TestUsers.Stats, TestUsers.StatsPassword);

        Assert.True(show.Success, show.ToString());
        Assert.False(reload.Success);
        Assert.Contains("admin access needed", reload.StdErr);
        Assert.Contains("admin access needed", fds.StdErr);
    }

    [Fact]
    public async Task UnlistedUser_IsNotAllowed()
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);

        var result = await host.ConsoleAsync("SHOW VERSION", TestUsers.Other, TestUsers.OtherPassword);

        Assert.False(result.Success);
        Assert.Contains("not allowed", result.StdErr);
    }

    [Fact]
    public async Task Reload_AppliesTheFile_AndReportsABrokenOne()
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);
        host.Dir.WriteIni("sluice.ini", host.Ini.Setting("default_pool_size", 7));

        var ok = await host.ConsoleAsync("RELOAD");

        Assert.True(ok.Success, ok.ToString());
        Assert.Contains("RELOAD", ok.StdOut);
        var config = (await host.ConsoleAsync("SHOW CONFIG")).Records().Single(r => r["key"] == "default_pool_size");
        Assert.Equal("7", config["value"]);
        Assert.Equal(7, host.Pooler.Config.DefaultPoolSize);

        host.Dir.WriteFile("sluice.ini", "[pgbouncer]\ndefault_pool_size = lots\n");
        var broken = await host.ConsoleAsync("RELOAD");

        Assert.False(broken.Success);
        Assert.Contains("RELOAD failed, see logs for additional details", broken.StdErr);
        Assert.Equal(7, host.Pooler.Config.DefaultPoolSize);
    }

    [Theory]
    [InlineData("KILL_CLIENT 999999", "client not found")]
    [InlineData("KILL_CLIENT someone", "invalid client pointer supplied")]
    [InlineData("SET nonsense = 1", "unknown parameter")]
    [InlineData("FROBNICATE", "invalid command 'FROBNICATE', use SHOW HELP;")]
    [InlineData("SHOW NOTHING", "invalid command 'SHOW NOTHING', use SHOW HELP;")]
    public async Task Commands_AnswerHonestErrors(string command, string message)
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);

        var result = await host.ConsoleAsync(command);

        Assert.False(result.Success);
        Assert.Contains(message, result.StdErr);
    }

    [Fact]
    public async Task ErrorsKeepTheSessionOpen()
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);

        var r = await ProcessRunner.RunAsync("psql",
            ["-h", "127.0.0.1", "-p", host.Port.ToString(), "-U", TestUsers.Admin, "-d", "pgbouncer", "-X", "-A", "-t"],
            TimeSpan.FromSeconds(30),
            env: new Dictionary<string, string> { ["PGPASSWORD"] = TestUsers.AdminPassword },
            stdin: "KILL_CLIENT 999999;\nSHOW STATE;\n");

        Assert.Contains("client not found", r.StdErr);
        Assert.Contains("active|yes", r.StdOut);
    }

    /// <summary>
    /// Npgsql logs in and reads the welcome (server_version "…/bouncer"), but it sends every command with the
    /// extended protocol, which the console refuses like PgBouncer 1.25 does: 08P01 and the session ends.
    /// </summary>
    [Fact]
    public async Task Npgsql_ReadsTheWelcome_AndGetsPgBouncersExtendedProtocolError()
    {
        await using var host = await TestPooler.StartConsoleAsync(_fixture.Postgres);
        await using var conn = new NpgsqlConnection(
            host.ConnectionString(TestUsers.Admin, TestUsers.AdminPassword, "pgbouncer", extra: "Server Compatibility Mode=NoTypeLoading"));
        await conn.OpenAsync();

        Assert.EndsWith("/bouncer", conn.PostgresParameters["server_version"]);
        Assert.Equal("UTF8", conn.PostgresParameters["client_encoding"]);
        Assert.Equal("on", conn.PostgresParameters["is_superuser"]);
        Assert.NotEqual(0, conn.ProcessID);

        await using var cmd = new NpgsqlCommand("SHOW VERSION", conn);
        var error = await Assert.ThrowsAsync<PostgresException>(() => cmd.ExecuteScalarAsync());
        Assert.Equal("08P01", error.SqlState);
        Assert.Equal("extended query protocol not supported by admin console", error.MessageText);
    }
}
