using System.Diagnostics;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Operations;

/// <summary>DISABLE/ENABLE, RECONNECT + WAIT_CLOSE, KILL, KILL_CLIENT and SET through psql against the console, with real clients.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ControlCommandTests
{
    private readonly PostgresFixture _fixture;
    private readonly ITestOutputHelper _output;

    public ControlCommandTests(PostgresFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    [Fact]
    public async Task Disable_RefusesNewLogins_ConnectedClientsKeepWorking_EnableRestores()
    {
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output);
        await using var connected = new NpgsqlConnection(host.ConnectionString());
        await connected.OpenAsync();
        Assert.Equal(1, await connected.ScalarAsync<int>("SELECT 1"));

        var disable = await host.ConsoleAsync("DISABLE " + PostgresInstance.AppDatabase);
        Assert.True(disable.Success, disable.ToString());

        await using (var refused = new NpgsqlConnection(host.ConnectionString()))
        {
            var error = await Assert.ThrowsAnyAsync<PostgresException>(() => refused.OpenAsync());
            Assert.Contains("disabled", error.MessageText);
            Assert.Contains(PostgresInstance.AppDatabase, error.MessageText);
        }
        var psql = await ProcessRunner.RunAsync("psql",
            ["-h", "127.0.0.1", "-p", host.Port.ToString(), "-U", OpsUsers.App, "-d", PostgresInstance.AppDatabase, "-X", "-c", "SELECT 1"],
            TimeSpan.FromSeconds(30), env: new Dictionary<string, string> { ["PGPASSWORD"] = OpsUsers.AppPassword, ["PGSSLMODE"] = "disable" });
        Assert.False(psql.Success);
        Assert.Matches(@"database ""?appdb""? is disabled", psql.StdErr);

        // The client that was already in keeps running transactions.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(i, await connected.ScalarAsync<int>("SELECT $1::int", i));
        }
        await using (var tx = await connected.BeginTransactionAsync())
        {
            Assert.Equal(7, await connected.ScalarAsync<int>("SELECT 7"));
            await tx.CommitAsync();
        }

        var enable = await host.ConsoleAsync("ENABLE " + PostgresInstance.AppDatabase);
        Assert.True(enable.Success, enable.ToString());
        await using var again = new NpgsqlConnection(host.ConnectionString());
        await again.OpenAsync();
        Assert.Equal(2, await again.ScalarAsync<int>("SELECT 2"));
    }

    [Fact]
    public async Task Reconnect_ReplacesEveryServer_AndWaitCloseReturnsOnceTheLastOldOneIsReleased()
    {
        await using var db = await BenchDatabase.CreateAsync(_fixture.Postgres, initialize: false);
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output,
            ini => ini.Database(db.Name, _fixture.Postgres.LibpqConnectString(db.Name)));
        var clients = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var c = new NpgsqlConnection(host.ConnectionString(database: db.Name));
                await c.OpenAsync();
                clients.Add(c);
            }
            // Three concurrent queries: three servers.
            await Task.WhenAll(clients.Select(c => c.ScalarAsync<int>("SELECT pg_backend_pid() FROM pg_sleep(0.3)")));
            var oldPids = await ServerPidsAsync(host, db.Name);
            Assert.Equal(3, oldPids.Count);
            Assert.Equal(oldPids.Order(), (await BackendPidsAsync(db.Name)).Order());

            // One client sits in a transaction on an old server.
            var holder = clients[0];
            await holder.ExecAsync("BEGIN");
            var holderPid = await holder.ScalarAsync<int>("SELECT pg_backend_pid()");
            Assert.Contains(holderPid, oldPids);

            var reconnect = await host.ConsoleAsync("RECONNECT " + db.Name);
            Assert.True(reconnect.Success, reconnect.ToString());
            // Idle old servers go at once; the held one stays until released.
            Assert.True(await Ops.UntilAsync(async () => (await BackendPidsAsync(db.Name)).SequenceEqual([holderPid]), TimeSpan.FromSeconds(10)),
                "idle servers were not closed by RECONNECT: " + string.Join(",", await BackendPidsAsync(db.Name)));

            var waitClose = host.ConsoleAsync("WAIT_CLOSE " + db.Name);
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.False(waitClose.IsCompleted, "WAIT_CLOSE returned while an old server was still linked");
            Assert.Equal(holderPid, await holder.ScalarAsync<int>("SELECT pg_backend_pid()"));
            await holder.ExecAsync("COMMIT");
            var waited = await waitClose.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(waited.Success, waited.ToString());
            Assert.Equal("0", (await Ops.RowAsync(host.ConsoleAsync, "SHOW DATABASES", "name", db.Name))["current_connections"]);

            // Every later query runs on a new backend.
            var newPids = await Task.WhenAll(clients.Select(c => c.ScalarAsync<int>("SELECT pg_backend_pid() FROM pg_sleep(0.3)")));
            Assert.Empty(newPids.Intersect(oldPids));
            Assert.Empty((await ServerPidsAsync(host, db.Name)).Intersect(oldPids));
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Kill_DisconnectsTheDatabasesClients_OthersUnaffected_AndNeedsResume()
    {
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output,
            ini => ini.Database("other", _fixture.Postgres.LibpqConnectString(PostgresInstance.AppDatabase)));
        await using var victim1 = new NpgsqlConnection(host.ConnectionString());
        await using var victim2 = new NpgsqlConnection(host.ConnectionString());
        await using var bystander = new NpgsqlConnection(host.ConnectionString(database: "other"));
        await victim1.OpenAsync();
        await victim2.OpenAsync();
        await bystander.OpenAsync();
        await victim1.ExecAsync("BEGIN");
        await victim1.ScalarAsync<int>("SELECT 1");
        await victim2.ScalarAsync<int>("SELECT 1");
        await bystander.ScalarAsync<int>("SELECT 1");

        var kill = await host.ConsoleAsync("KILL " + PostgresInstance.AppDatabase);
        Assert.True(kill.Success, kill.ToString());

        await Assert.ThrowsAnyAsync<NpgsqlException>(() => victim1.ScalarAsync<int>("SELECT 2"));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => victim2.ScalarAsync<int>("SELECT 2"));
        Assert.Equal(3, await bystander.ScalarAsync<int>("SELECT 3"));
        Assert.True(await Ops.UntilAsync(async () =>
            (await host.ConsoleAsync("SHOW CLIENTS")).Records().All(r => r["database"] != PostgresInstance.AppDatabase), TimeSpan.FromSeconds(5)),
            "killed clients still listed by SHOW CLIENTS");

        // The killed database is paused: a new client's query waits for RESUME.
        var late = Task.Run(async () =>
        {
            await using var conn = new NpgsqlConnection(host.ConnectionString(extra: "Timeout=30"));
            await conn.OpenAsync();
            return await conn.ScalarAsync<int>("SELECT 4");
        });
        Assert.NotSame(late, await Task.WhenAny(late, Task.Delay(TimeSpan.FromSeconds(1.5))));
        var resume = await host.ConsoleAsync("RESUME " + PostgresInstance.AppDatabase);
        Assert.True(resume.Success, resume.ToString());
        Assert.Equal(4, await late.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal(5, await bystander.ScalarAsync<int>("SELECT 5"));
    }

    /// <summary>PgBouncer 1.25: KILL without a database drops the clients and servers of every database (and pauses them all).</summary>
    [Fact]
    public async Task Kill_WithoutDatabase_DropsEveryDatabase()
    {
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output,
            ini => ini.Database("other", _fixture.Postgres.LibpqConnectString(PostgresInstance.AppDatabase)));
        await using var a = new NpgsqlConnection(host.ConnectionString());
        await using var b = new NpgsqlConnection(host.ConnectionString(database: "other"));
        await a.OpenAsync();
        await b.OpenAsync();
        await a.ScalarAsync<int>("SELECT 1");
        await b.ScalarAsync<int>("SELECT 1");

        var kill = await host.ConsoleAsync("KILL");
        Assert.True(kill.Success, kill.ToString());

        await Assert.ThrowsAnyAsync<NpgsqlException>(() => a.ScalarAsync<int>("SELECT 2"));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => b.ScalarAsync<int>("SELECT 2"));
        Assert.True((await host.ConsoleAsync("RESUME")).Success);
        await using var after = new NpgsqlConnection(host.ConnectionString(database: "other"));
        await after.OpenAsync();
        Assert.Equal(3, await after.ScalarAsync<int>("SELECT 3"));
    }

    [Fact]
    public async Task KillClient_DisconnectsOnlyThatClient()
    {
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output);
        await using var victim = new NpgsqlConnection(host.ConnectionString(extra: "Application Name=victim"));
        await using var bystander = new NpgsqlConnection(host.ConnectionString(extra: "Application Name=bystander"));
        await victim.OpenAsync();
        await bystander.OpenAsync();
        await victim.ScalarAsync<int>("SELECT 1");
        await bystander.ScalarAsync<int>("SELECT 1");

        var clients = await host.ConsoleAsync("SHOW CLIENTS");
        Assert.True(clients.Success, clients.ToString());
        var id = clients.Records().Single(r => r["application_name"] == "victim")["id"];

        var kill = await host.ConsoleAsync("KILL_CLIENT " + id);
        Assert.True(kill.Success, kill.ToString());

        await Assert.ThrowsAnyAsync<NpgsqlException>(() => victim.ScalarAsync<int>("SELECT 2"));
        Assert.Equal(3, await bystander.ScalarAsync<int>("SELECT 3"));
        Assert.True(await Ops.UntilAsync(async () =>
        {
            var names = (await host.ConsoleAsync("SHOW CLIENTS")).Records().Select(r => r["application_name"]).ToArray();
            return !names.Contains("victim") && names.Contains("bystander");
        }, TimeSpan.FromSeconds(5)), "SHOW CLIENTS after KILL_CLIENT:\n" + await host.ConsoleAsync("SHOW CLIENTS"));

        var again = await host.ConsoleAsync("KILL_CLIENT " + id);
        Assert.False(again.Success);
        Assert.Contains("not found", again.StdErr);
    }

    [Fact]
    public async Task SetDefaultPoolSize_ShowsInConfig_AndCapsServers()
    {
        await using var role = await TestRole.CreateAsync(_fixture.Postgres, "setpool");
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output, extraUsers: [role.AuthFileEntry]);
        await using (var warm = new NpgsqlConnection(host.ConnectionString(user: role.Name, password: role.Password)))
        {
            await warm.OpenAsync();
            await warm.ScalarAsync<int>("SELECT 1");
        }

        var set = await host.ConsoleAsync("SET default_pool_size = 2");
        Assert.True(set.Success, set.ToString());
        Assert.Contains("SET", set.StdOut);
        Assert.Equal("2", await Ops.ConfigValueAsync(host.ConsoleAsync, "default_pool_size"));
        Assert.Equal("2", (await Ops.RowAsync(host.ConsoleAsync, "SHOW DATABASES", "name", PostgresInstance.AppDatabase))["pool_size"]);

        await using var sampler = BackendSampler.Start(_fixture.Postgres, role.Name);
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 5).Select(async _ =>
        {
            await using var conn = new NpgsqlConnection(host.ConnectionString(user: role.Name, password: role.Password));
            await conn.OpenAsync();
            await conn.ExecAsync("SELECT pg_sleep(0.6)");
        }));
        sw.Stop();
        await sampler.StopAsync();

        Assert.True(sampler.Max <= 2, $"{sampler.Max} servers for the role with default_pool_size = 2");
        Assert.Equal(2, sampler.Max);
        // Five 0.6 s queries over two servers need three rounds.
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(1.7), $"five queries on two servers took only {sw.Elapsed}");
    }

    /// <summary>
    /// PgBouncer's SHOW DATABASES prints db->db_paused and db->db_disabled, and SHOW STATE prints
    /// active/paused from cf_pause_mode, so an operator (and pgbouncer_exporter) can see PAUSE and DISABLE.
    /// </summary>
    [Fact]
    public async Task ShowDatabasesAndShowState_ReflectPauseAndDisable()
    {
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output,
            ini => ini.Database("other", _fixture.Postgres.LibpqConnectString(PostgresInstance.AppDatabase)));
        await using (var warm = new NpgsqlConnection(host.ConnectionString()))
        {
            await warm.OpenAsync();
            await warm.ScalarAsync<int>("SELECT 1");
        }

        Assert.True((await host.ConsoleAsync("DISABLE " + PostgresInstance.AppDatabase)).Success);
        Assert.True((await host.ConsoleAsync("PAUSE other")).Success);
        var databases = (await host.ConsoleAsync("SHOW DATABASES")).Records();
        var appdb = databases.Single(r => r["name"] == PostgresInstance.AppDatabase);
        var other = databases.Single(r => r["name"] == "other");
        Assert.Equal(("1", "0"), (appdb["disabled"], appdb["paused"]));
        Assert.Equal(("0", "1"), (other["disabled"], other["paused"]));

        Assert.True((await host.ConsoleAsync("RESUME other")).Success);
        Assert.True((await host.ConsoleAsync("ENABLE " + PostgresInstance.AppDatabase)).Success);
        Assert.True((await host.ConsoleAsync("PAUSE")).Success);
        var state = (await host.ConsoleAsync("SHOW STATE")).Records().ToDictionary(r => r["key"], r => r["value"]);
        Assert.Equal("yes", state["paused"]);
        Assert.Equal("no", state["active"]);
        databases = (await host.ConsoleAsync("SHOW DATABASES")).Records();
        Assert.All(databases.Where(r => r["name"] != "pgbouncer"), r => Assert.Equal(("0", "1"), (r["disabled"], r["paused"])));

        Assert.True((await host.ConsoleAsync("RESUME")).Success);
        state = (await host.ConsoleAsync("SHOW STATE")).Records().ToDictionary(r => r["key"], r => r["value"]);
        Assert.Equal(("yes", "no"), (state["active"], state["paused"]));
    }

    /// <summary>PgBouncer 1.25 (admin.c): PAUSE while paused is "already suspended/paused"; RESUME when not paused is "pooler is not paused/suspended".</summary>
    [Fact]
    public async Task PauseTwice_AndResumeWhenNotPaused_AreErrors()
    {
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output);

        var resume = await host.ConsoleAsync("RESUME");
        Assert.False(resume.Success, "RESUME of a pooler that is not paused succeeded: " + resume);
        Assert.Contains("not paused", resume.StdErr);

        Assert.True((await host.ConsoleAsync("PAUSE")).Success);
        var again = await host.ConsoleAsync("PAUSE");
        Assert.True((await host.ConsoleAsync("RESUME")).Success);
        Assert.False(again.Success, "a second PAUSE succeeded: " + again);
        Assert.Contains("already", again.StdErr);
    }

    private static async Task<List<int>> ServerPidsAsync(TestPooler host, string database)
    {
        var r = await host.ConsoleAsync("SHOW SERVERS");
        Assert.True(r.Success, r.ToString());
        return [.. r.Records().Where(x => x["database"] == database).Select(x => int.Parse(x["remote_pid"]))];
    }

    private async Task<List<int>> BackendPidsAsync(string database)
    {
        await using var conn = new NpgsqlConnection(_fixture.Postgres.SocketConnectionString());
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = $1 ORDER BY pid", database);
        List<int> pids = [];
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            pids.Add(reader.GetInt32(0));
        }
        return pids;
    }
}
