using System.Diagnostics;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>
/// Replication clients (replication=database|true) through Sluice: each gets a walsender of its own, in session
/// semantics although the pool is in statement mode, counted in pool_size and closed when the client leaves.
/// tcp_socket_buffer is small, as in PgBouncer's suite, so streaming goes through many partial reads and sends.
/// </summary>
[Collection(ReplicationCollection.Name)]
public sealed class ReplicationTests(ReplicationPostgresFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(90);

    private PostgresInstance Pg => fixture.Postgres;

    private Task<TestPooler> StartAsync(Action<IniBuilder>? configure = null) =>
        TestPooler.StartAsync(Pg, output, ini =>
        {
            ini.Setting("auth_type", "trust")
                .Setting("pool_mode", "statement")
                .Setting("tcp_socket_buffer", 4096)
                .Setting("admin_users", "postgres")
                .Database("replication", Pg.LibpqConnectString("postgres"));   // where physical-replication tools ask to go
            configure?.Invoke(ini);
        }, users: [("postgres", ""), (PostgresInstance.AppUser, PostgresInstance.AppPassword)]);

    private Task<ProcessResult> PsqlAsync(TestPooler host, string conninfo, params string[] commands)
    {
        List<string> args = ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", $"host=127.0.0.1 port={host.PortText} dbname=postgres {conninfo}"];
        foreach (var command in commands)
        {
            args.Add("-c");
            args.Add(command);
        }
        return ProcessRunner.RunAsync(Path.Combine(Pg.BinDir, "psql"), args, ToolTimeout);
    }

    private Task<long> WalsenderCountAsync() =>
        Pg.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'");

    private async Task WaitForNoWalsenderAsync()
    {
        var sw = Stopwatch.StartNew();
        while (await WalsenderCountAsync() > 0)
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), "a walsender outlived its replication client");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Logical_IdentifySystemAndSql_RunOnOneWalsender_InSessionSemantics()
    {
        await using var host = await StartAsync();
        var systemId = await Pg.ScalarAsync<long>("SELECT system_identifier FROM pg_control_system()");

        // Statement pooling would end a normal client at BEGIN; a replication client keeps its server throughout.
        var r = await PsqlAsync(host, "user=postgres replication=database application_name=abc options='-c enable_seqscan=off'",
            "IDENTIFY_SYSTEM", "SHOW application_name", "SHOW enable_seqscan",
            "BEGIN", "SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()", "COMMIT");
        r.EnsureSuccess("psql replication=database");
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var identify = lines[0].Split('|');
        Assert.Equal(systemId.ToString(System.Globalization.CultureInfo.InvariantCulture), identify[0]);
        Assert.Equal("postgres", identify[3]);
        Assert.Contains("abc", lines);
        Assert.Contains("off", lines);
        Assert.Contains("walsender", lines);
        Assert.Contains(host.LogLines, l => l.Contains("replication=database", StringComparison.Ordinal));

        await WaitForNoWalsenderAsync();
        Assert.Equal(0, host.Pooler.Pools.All.Sum(p => p.ServerCount));
    }

    [Fact]
    public async Task Physical_IdentifySystemIsForwarded_AndPostgresRefusesSql()
    {
        await using var host = await StartAsync();

        var r = await PsqlAsync(host, "user=postgres replication=true", "IDENTIFY_SYSTEM");
        r.EnsureSuccess("psql replication=true");
        var identify = r.StdOut.Trim().Split('|');
        Assert.Equal(4, identify.Length);
        Assert.Equal("", identify[3]);   // a physical walsender is connected to no database

        r = await PsqlAsync(host, "user=postgres replication=true", "SELECT 1");
        Assert.False(r.Success);
        Assert.Contains("cannot execute SQL commands in WAL sender for physical replication", r.StdErr);
        await WaitForNoWalsenderAsync();
    }

    [Fact]
    public async Task RefusedWalsender_FailsOnlyItsClient_WithLoginFailed()
    {
        await using var host = await StartAsync();

        var r = await PsqlAsync(host, $"user={PostgresInstance.AppUser} replication=database", "IDENTIFY_SYSTEM");
        Assert.False(r.Success);
        Assert.Contains("login failed", r.StdErr);
        Assert.Contains(host.LogLines, l => l.Contains("must be superuser or replication role", StringComparison.Ordinal)
            || l.Contains("permission denied to start WAL sender", StringComparison.Ordinal));
        Assert.Equal(2, host.LogLines.Count(l => l.Contains("closing because: login failed (age=", StringComparison.Ordinal)));

        // The same pool still logs ordinary clients in: a walsender refusal is not a failing server.
        await using var conn = await host.OpenAsync(database: "postgres");
        Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));
    }

    [Fact]
    public async Task ReplicationServers_CountInPoolSize_EvictIdleServers_AndShowTheirKind()
    {
        await using var host = await StartAsync(ini => ini.Setting("default_pool_size", 1));
        await using (var conn = await host.OpenAsync(user: "postgres", password: null, database: "postgres"))
        {
            Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));
        }
        var replication = new Dictionary<string, string> { ["replication"] = "database" };

        // The pool's only slot is held by an idle server: it is closed for the replication client.
        var first = await RawPgClient.LoginOkAsync(host.Port, "postgres", "postgres", null, replication);
        try
        {
            Assert.Contains(host.LogLines, l => l.Contains("closing because: evicted", StringComparison.Ordinal));
            Assert.NotNull((await first.QueryAsync("IDENTIFY_SYSTEM")).FirstValue);

            await using (var admin = await RawPgClient.LoginOkAsync(host.Port, "postgres", "pgbouncer", null))
            {
                var servers = (await admin.QueryAsync("SHOW SERVERS")).ResultSets[0];
                Assert.Equal("logical", Assert.Single(servers)[3]);
                var clients = (await admin.QueryAsync("SHOW CLIENTS")).ResultSets[0];
                Assert.Contains(clients, c => c[3] == "logical");
            }

            // A second one waits for the slot, then gets a walsender of its own.
            var pending = RawPgClient.LoginOkAsync(host.Port, "postgres", "postgres", null, replication, timeout: TimeSpan.FromSeconds(30));
            await Task.Delay(700);
            Assert.False(pending.IsCompleted, "a second replication client got a server beyond pool_size = 1");
            await first.DisposeAsync();
            await using var second = await pending;
            Assert.NotNull((await second.QueryAsync("IDENTIFY_SYSTEM")).FirstValue);
        }
        finally
        {
            await first.DisposeAsync();
        }
        await WaitForNoWalsenderAsync();
    }

    [Fact]
    public async Task ReplicationClient_UnderMaxUserConnections_TakesTheSlotOfAnotherPoolsIdleServer()
    {
        await using var host = await StartAsync(ini => ini.Setting("max_user_connections", 1));
        await using (var conn = await host.OpenAsync(user: "postgres", password: null, database: "postgres"))
        {
            Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));
        }

        // The "replication" pool is empty, but postgres's only connection sits idle in the "postgres" pool.
        var r = await PsqlAsync(host, "dbname=replication user=postgres replication=true", "IDENTIFY_SYSTEM");
        r.EnsureSuccess("psql replication=true under max_user_connections");
        Assert.Contains(host.LogLines, l => l.Contains("evicted for a waiting client of another pool", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reconnect_ClosesReplicationServersAtOnce()
    {
        await using var host = await StartAsync();
        await using var client = await RawPgClient.LoginOkAsync(host.Port, "postgres", "postgres", null,
            new Dictionary<string, string> { ["replication"] = "database" });
        Assert.NotNull((await client.QueryAsync("IDENTIFY_SYSTEM")).FirstValue);

        // A stream may never end by itself: its server is not left to finish like a pooled one.
        await using (var admin = await RawPgClient.LoginOkAsync(host.Port, "postgres", "pgbouncer", null))
        {
            Assert.Null((await admin.QueryAsync("RECONNECT")).Error);
        }
        await WaitForNoWalsenderAsync();
        Assert.Contains(host.LogLines, l => l.Contains("closing because: database configuration changed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task QueryWaitTimeout_EndsAReplicationClientsWaitForASlot()
    {
        await using var host = await StartAsync(ini => ini.Setting("default_pool_size", 1).Setting("query_wait_timeout", 1));
        var replication = new Dictionary<string, string> { ["replication"] = "database" };
        await using var first = await RawPgClient.LoginOkAsync(host.Port, "postgres", "postgres", null, replication);

        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RawPgException>(() =>
            RawPgClient.LoginOkAsync(host.Port, "postgres", "postgres", null, replication, timeout: TimeSpan.FromSeconds(30)));
        Assert.Contains("query_wait_timeout", e.Message);
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(0.9), $"failed after {sw.Elapsed}, before query_wait_timeout");
        Assert.NotNull((await first.QueryAsync("IDENTIFY_SYSTEM")).FirstValue);
    }

    [Fact]
    public async Task PgBasebackup_And_PgReceivewal_StreamThroughSluice()
    {
        await using var host = await StartAsync();
        using var dir = TempDirectory.Create("sluice-repl-");
        var conninfo = $"host=127.0.0.1 port={host.PortText} user=postgres";

        // BASE_BACKUP over one walsender, the WAL streamed (START_REPLICATION, CopyBoth) over a second one.
        var backup = Path.Combine(dir.Path, "backup");
        var r = await ProcessRunner.RunAsync(Path.Combine(Pg.BinDir, "pg_basebackup"),
            ["-d", conninfo, "--checkpoint=fast", "-X", "stream", "-D", backup], ToolTimeout);
        r.EnsureSuccess("pg_basebackup");
        Assert.True(File.Exists(Path.Combine(backup, "PG_VERSION")));

        // --endpos makes pg_receivewal stop by itself once it has streamed up to the current position.
        await Pg.ExecuteAsync("CREATE TABLE IF NOT EXISTS repl_receivewal (i int); INSERT INTO repl_receivewal SELECT generate_series(1, 20000)");
        var lsn = await Pg.ScalarAsync<string>("SELECT pg_current_wal_lsn()::text");
        var wal = Path.Combine(dir.Path, "wal");
        Directory.CreateDirectory(wal);
        r = await ProcessRunner.RunAsync(Path.Combine(Pg.BinDir, "pg_receivewal"),
            ["-d", conninfo, "-D", wal, $"--endpos={lsn}", "--no-loop"], ToolTimeout);
        r.EnsureSuccess("pg_receivewal");
        Assert.NotEmpty(Directory.GetFiles(wal));
        Assert.DoesNotContain(host.LogLines, l => l.Contains("query in progress", StringComparison.Ordinal));
        await WaitForNoWalsenderAsync();
    }

    [Fact]
    public async Task LogicalSlot_CreatedAndDecoded_ThroughSluice()
    {
        await using var host = await StartAsync();
        var slot = Sql.UniqueName("repl_slot");
        var table = Sql.UniqueName("repl_tbl");
        await Pg.ExecuteAsync($"CREATE TABLE {table} (a int)");
        try
        {
            var r = await PsqlAsync(host, "user=postgres replication=database", $"CREATE_REPLICATION_SLOT {slot} LOGICAL test_decoding");
            r.EnsureSuccess("CREATE_REPLICATION_SLOT");
            Assert.StartsWith(slot, r.StdOut.Trim());

            // Streamed until the change shows up, then killed, as a consumer that goes away mid-stream.
            await using (var recv = ProcessRunner.StartBackground(Path.Combine(Pg.BinDir, "pg_recvlogical"),
                ["-h", "127.0.0.1", "-p", host.PortText, "-U", "postgres", "-d", "postgres", $"--slot={slot}", "--start", "--no-loop", "-f", "-"]))
            {
                await Pg.ExecuteAsync($"INSERT INTO {table} VALUES (42)");
                await recv.WaitForOutputAsync("INSERT: a[integer]:42", ToolTimeout);
            }
            await WaitForNoWalsenderAsync();
            Assert.Contains(host.LogLines, l => l.Contains("closing because: replication client disconnected", StringComparison.Ordinal));
            Assert.DoesNotContain(host.LogLines, l => l.Contains("query in progress", StringComparison.Ordinal));
        }
        finally
        {
            await WaitForNoWalsenderAsync();
            await Pg.ExecuteAsync($"SELECT pg_drop_replication_slot('{slot}') FROM pg_replication_slots WHERE slot_name = '{slot}'");
            await Pg.ExecuteAsync($"DROP TABLE {table}");
        }
    }
}
