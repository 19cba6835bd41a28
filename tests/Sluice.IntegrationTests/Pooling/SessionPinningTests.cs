using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>
/// pin_session_state (Sluice only, default 1): in transaction pooling a client that creates state outliving its
/// transaction keeps its server until the state is gone, and no other client ever sees that state. Each test
/// checks the behaviour against a direct connection where that is meaningful.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SessionPinningTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Marker = "77MB";

    private PostgresInstance Pg => fixture.Postgres;

    private Task<TestPooler> StartAsync(int poolSize, bool pin = true) =>
        TestPooler.StartAsync(Pg, output, ini =>
        {
            ini.Setting("pool_mode", "transaction").Setting("default_pool_size", poolSize);
            if (!pin)
            {
                ini.Setting("pin_session_state", 0);
            }
        });

    private async Task<NpgsqlConnection> DirectAsync()
    {
        var conn = new NpgsqlConnection(Pg.ConnectionString(PostgresInstance.AppUser, PostgresInstance.AppPassword, PostgresInstance.AppDatabase));
        await conn.OpenAsync();
        return conn;
    }

    private static async Task<(int Pid, string WorkMem)> PidAndWorkMemAsync(NpgsqlConnection conn)
    {
        await using var cmd = new NpgsqlCommand("SELECT pg_backend_pid(), current_setting('work_mem')", conn);
        await using var reader = await cmd.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.GetInt32(0), reader.GetString(1));
    }

    /// <summary>Opens <paramref name="count"/> clients each inside a transaction, so together they hold every server of the pool.</summary>
    private static async Task<List<(NpgsqlConnection Conn, NpgsqlTransaction Tx, int Pid, string WorkMem)>> HoldAllServersAsync(TestPooler host, int count)
    {
        var held = new List<(NpgsqlConnection, NpgsqlTransaction, int, string)>();
        for (var i = 0; i < count; i++)
        {
            var conn = await host.OpenAsync();
            var tx = await conn.BeginTransactionAsync();
            var (pid, workMem) = await PidAndWorkMemAsync(conn);
            held.Add((conn, tx, pid, workMem));
        }
        return held;
    }

    private static async Task ReleaseAsync(IEnumerable<(NpgsqlConnection Conn, NpgsqlTransaction Tx, int Pid, string WorkMem)> held)
    {
        foreach (var (conn, tx, _, _) in held)
        {
            await tx.CommitAsync();
            await conn.DisposeAsync();
        }
    }

    [Fact]
    public async Task SetWorkMem_StaysWithClientA_NeverSeenByB_UntilResetOrDisconnect()
    {
        string defaultWorkMem;
        await using (var direct = await DirectAsync())
        {
            defaultWorkMem = await direct.ScalarAsync<string>("SHOW work_mem");
            await direct.ExecAsync($"SET work_mem = '{Marker}'");
            await using var tx = await direct.BeginTransactionAsync();
            Assert.Equal(Marker, await direct.ScalarAsync<string>("SHOW work_mem"));   // the baseline: session-wide
        }
        Assert.NotEqual(Marker, defaultWorkMem);

        await using var host = await StartAsync(2);
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync();

        await a.ExecAsync($"SET work_mem = '{Marker}'");
        var (pidA, _) = await PidAndWorkMemAsync(a);
        for (var i = 0; i < 5; i++)
        {
            await using var tx = await a.BeginTransactionAsync();
            Assert.Equal((pidA, Marker), await PidAndWorkMemAsync(a));
            await tx.CommitAsync();
            Assert.Equal((pidA, Marker), await PidAndWorkMemAsync(a));
        }

        // B, concurrently with A's session, never gets A's server nor sees its setting.
        var bWork = Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                var (pid, workMem) = await PidAndWorkMemAsync(b);
                Assert.NotEqual(pidA, pid);
                Assert.Equal(defaultWorkMem, workMem);
            }
        });
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal((pidA, Marker), await PidAndWorkMemAsync(a));
        }
        await bWork.WaitAsync(TimeSpan.FromSeconds(30));

        // RESET: A lets go of its server, and whoever gets it sees the default.
        await a.ExecAsync("RESET work_mem");
        var held = await HoldAllServersAsync(host, 2);
        try
        {
            Assert.Contains(pidA, held.Select(h => h.Pid));
            Assert.All(held, h => Assert.Equal(defaultWorkMem, h.WorkMem));
        }
        finally
        {
            await ReleaseAsync(held);
        }

        // Disconnect: a client that leaves with the setting in place does not hand it on either.
        int pidA2;
        await using (var a2 = await host.OpenAsync())
        {
            await a2.ExecAsync($"SET work_mem = '{Marker}'");
            (pidA2, _) = await PidAndWorkMemAsync(a2);
            Assert.Equal((pidA2, Marker), await PidAndWorkMemAsync(a2));
        }
        held = await HoldAllServersAsync(host, 2);
        try
        {
            Assert.Contains(pidA2, held.Select(h => h.Pid));
            Assert.All(held, h => Assert.Equal(defaultWorkMem, h.WorkMem));
        }
        finally
        {
            await ReleaseAsync(held);
        }
    }

    [Fact]
    public async Task SetWorkMem_OnPoolOfOne_BWaitsForA_ThenSeesTheDefault()
    {
        await using var host = await StartAsync(1);
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync();
        string defaultWorkMem;
        await using (var direct = await DirectAsync())
        {
            defaultWorkMem = await direct.ScalarAsync<string>("SHOW work_mem");
        }

        await a.ExecAsync($"SET work_mem = '{Marker}'");
        var bQuery = PidAndWorkMemAsync(b);
        await Task.Delay(300);
        Assert.False(bQuery.IsCompleted, "B must wait while A is pinned to the only server");
        Assert.Equal(Marker, await a.ScalarAsync<string>("SHOW work_mem"));

        await a.ExecAsync("RESET work_mem");
        var (_, seen) = await bQuery.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(defaultWorkMem, seen);
    }

    [Fact]
    public async Task TrackedParameters_DoNotPin_AndStayPerClient()
    {
        await using var host = await StartAsync(1);
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync();

        await a.ExecAsync("SET application_name = 'pin-a'");
        await a.ExecAsync("SET TimeZone = 'Asia/Tokyo'");
        // Pool of one: B can only run if A did not keep the server.
        var bName = await b.ScalarAsync<string>("SHOW application_name").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotEqual("pin-a", bName);
        Assert.NotEqual("Asia/Tokyo", await b.ScalarAsync<string>("SHOW TimeZone"));
        Assert.Equal("pin-a", await a.ScalarAsync<string>("SHOW application_name"));
        Assert.Equal("Asia/Tokyo", await a.ScalarAsync<string>("SHOW TimeZone"));
    }

    [Fact]
    public async Task Listen_ReceivesNotificationsAcrossTransactions_OthersDoNotListen()
    {
        await using var host = await StartAsync(2);
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync();
        await using var notifier = await DirectAsync();

        var received = new System.Collections.Concurrent.ConcurrentQueue<string>();
        a.Notification += (_, e) => received.Enqueue(e.Channel + ":" + e.Payload);
        await a.ExecAsync("LISTEN pin_ch");
        var pidA = await a.ScalarAsync<int>("SELECT pg_backend_pid()");

        for (var i = 0; i < 3; i++)
        {
            await using (var tx = await a.BeginTransactionAsync())
            {
                Assert.Equal(pidA, await a.ScalarAsync<int>("SELECT pg_backend_pid()"));
                await tx.CommitAsync();
            }
            await notifier.ExecAsync($"NOTIFY pin_ch, 'x{i}'");
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (received.Count <= i && DateTime.UtcNow < deadline)
            {
                await a.WaitAsync(TimeSpan.FromMilliseconds(500));
            }
            Assert.True(received.Count == i + 1, $"notification {i} not received; got [{string.Join(", ", received)}]\n{host.LogTail()}");
        }
        Assert.Equal(["pin_ch:x0", "pin_ch:x1", "pin_ch:x2"], received.ToArray());

        // A NOTIFY sent through the pooler by another client also arrives.
        await b.ExecAsync("NOTIFY pin_ch, 'from-b'");
        var end = DateTime.UtcNow.AddSeconds(10);
        while (received.Count < 4 && DateTime.UtcNow < end)
        {
            await a.WaitAsync(TimeSpan.FromMilliseconds(500));
        }
        Assert.Equal("pin_ch:from-b", received.Last());

        // B's server listens to nothing.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(0L, await b.ScalarAsync<long>("SELECT count(*) FROM pg_listening_channels()"));
            Assert.NotEqual(pidA, await b.ScalarAsync<int>("SELECT pg_backend_pid()"));
        }

        // After UNLISTEN, A's old server listens to nothing for whoever gets it.
        await a.ExecAsync("UNLISTEN pin_ch");
        var held = await HoldAllServersAsync(host, 2);
        try
        {
            Assert.Contains(pidA, held.Select(h => h.Pid));
            foreach (var (conn, _, _, _) in held)
            {
                Assert.Equal(0L, await conn.ScalarAsync<long>("SELECT count(*) FROM pg_listening_channels()"));
            }
        }
        finally
        {
            await ReleaseAsync(held);
        }
    }

    [Fact]
    public async Task SessionAdvisoryLock_HeldByAsSession_NotLeakedToB()
    {
        // Baseline: a session lock outlives the transaction and blocks other sessions.
        await using (var d1 = await DirectAsync())
        await using (var d2 = await DirectAsync())
        {
            Assert.True(await d1.ScalarAsync<bool>("SELECT pg_try_advisory_lock(4242)"));
            Assert.False(await d2.ScalarAsync<bool>("SELECT pg_try_advisory_lock(4242)"));
            Assert.True(await d1.ScalarAsync<bool>("SELECT pg_advisory_unlock(4242)"));
        }

        await using var host = await StartAsync(2);
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync();

        await a.ExecAsync("SELECT pg_advisory_lock(42)");
        var pidA = await a.ScalarAsync<int>("SELECT pg_backend_pid()");
        for (var i = 0; i < 3; i++)
        {
            await using var tx = await a.BeginTransactionAsync();
            Assert.Equal(pidA, await a.ScalarAsync<int>("SELECT pg_backend_pid()"));
            await tx.CommitAsync();
        }
        await using (var direct = await DirectAsync())
        {
            Assert.Equal(pidA, await direct.ScalarAsync<int>(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = 42 AND granted"));
        }

        // B runs on the other server: the lock belongs to A's session, so B cannot take it.
        Assert.False(await b.ScalarAsync<bool>("SELECT pg_try_advisory_lock(42)"));
        Assert.NotEqual(pidA, await b.ScalarAsync<int>("SELECT pg_backend_pid()"));

        Assert.True(await a.ScalarAsync<bool>("SELECT pg_advisory_unlock(42)"));
        Assert.True(await b.ScalarAsync<bool>("SELECT pg_try_advisory_lock(42)"));
        Assert.True(await b.ScalarAsync<bool>("SELECT pg_advisory_unlock(42)"));
    }

    [Fact]
    public async Task TempTable_VisibleOnlyToA_AcrossTransactions_GoneAfterADisconnects()
    {
        var table = Sql.UniqueName("pin_tmp");
        await using var host = await StartAsync(2);
        await using var b = await host.OpenAsync();

        int pidA;
        await using (var a = await host.OpenAsync())
        {
            await a.ExecAsync($"CREATE TEMP TABLE {table}(x int)");
            pidA = await a.ScalarAsync<int>("SELECT pg_backend_pid()");
            for (var i = 1; i <= 3; i++)
            {
                await using var tx = await a.BeginTransactionAsync();
                await a.ExecAsync($"INSERT INTO {table} VALUES ($1)", i);
                await tx.CommitAsync();
                await a.ExecAsync($"INSERT INTO {table} VALUES ($1)", i * 10);
            }
            Assert.Equal(6L, await a.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
            Assert.Equal(pidA, await a.ScalarAsync<int>("SELECT pg_backend_pid()"));

            var e = await Assert.ThrowsAsync<PostgresException>(() => b.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
            Assert.Equal(PostgresErrorCodes.UndefinedTable, e.SqlState);
            Assert.Equal(6L, await a.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        }

        // A is gone: its server was reset before reuse, nobody sees the table.
        var held = await HoldAllServersAsync(host, 2);
        try
        {
            Assert.Contains(pidA, held.Select(h => h.Pid));
            foreach (var (conn, _, _, _) in held)
            {
                Assert.True(await conn.ScalarAsync<bool>($"SELECT to_regclass('{table}') IS NULL"));
            }
        }
        finally
        {
            await ReleaseAsync(held);
        }
    }

    [Fact]
    public async Task WithHoldCursor_FetchedAcrossTransactions()
    {
        await using var host = await StartAsync(2);
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync();

        await a.ExecAsync("DECLARE pin_c CURSOR WITH HOLD FOR SELECT generate_series(1, 10)");
        var fetched = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            await using var tx = await a.BeginTransactionAsync();
            await using (var cmd = new NpgsqlCommand("FETCH 3 FROM pin_c", a))
            await using (var reader = await cmd.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    fetched.Add(reader.GetInt32(0));
                }
            }
            await tx.CommitAsync();
        }
        Assert.Equal(Enumerable.Range(1, 10), fetched);

        var e = await Assert.ThrowsAsync<PostgresException>(() => b.ExecAsync("FETCH 1 FROM pin_c"));
        Assert.Equal(PostgresErrorCodes.InvalidCursorName, e.SqlState);

        await a.ExecAsync("CLOSE pin_c");
        // Unpinned: on a pool of two, A and B can now share servers freely; both work.
        Assert.Equal(1, await a.ScalarAsync<int>("SELECT 1"));
        Assert.Equal(1, await b.ScalarAsync<int>("SELECT 1"));
    }

    [Fact]
    public async Task SqlPrepare_ExecutedAcrossTransactions_OtherClientCannotSeeIt()
    {
        await using var host = await StartAsync(2);
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync();

        await a.ExecAsync("PREPARE pin_p AS SELECT $1::int + 1");
        for (var i = 0; i < 5; i++)
        {
            await using var tx = await a.BeginTransactionAsync();
            Assert.Equal(i + 1, await a.ScalarAsync<int>($"EXECUTE pin_p({i})"));
            await tx.CommitAsync();
            Assert.Equal(i + 101, await a.ScalarAsync<int>($"EXECUTE pin_p({i + 100})"));
        }

        for (var i = 0; i < 3; i++)
        {
            var e = await Assert.ThrowsAsync<PostgresException>(() => b.ScalarAsync<int>("EXECUTE pin_p(1)"));
            Assert.Equal(PostgresErrorCodes.InvalidSqlStatementName, e.SqlState);
            Assert.Contains("prepared statement \"pin_p\" does not exist", e.MessageText, StringComparison.Ordinal);
        }

        await a.ExecAsync("DEALLOCATE pin_p");
        var held = await HoldAllServersAsync(host, 2);
        try
        {
            foreach (var (conn, _, _, _) in held)
            {
                Assert.Equal(0L, await conn.ScalarAsync<long>("SELECT count(*) FROM pg_prepared_statements WHERE name = 'pin_p'"));
            }
        }
        finally
        {
            await ReleaseAsync(held);
        }
    }

    /// <summary>
    /// PostgreSQL's RESET ALL leaves the role alone (role and session_authorization are GUC_NO_RESET_ALL); the
    /// client still holds session state and the next client must not run as that role.
    /// </summary>
    [Fact]
    public async Task SetRole_ThenResetAll_RoleIsNotHandedToTheNextClient()
    {
        var role = Sql.UniqueName("pin_role");
        await Pg.ExecuteAsync($"CREATE ROLE {role} NOLOGIN; GRANT {role} TO {PostgresInstance.AppUser}");
        try
        {
            // Baseline: RESET ALL does not undo SET ROLE.
            await using (var direct = await DirectAsync())
            {
                await direct.ExecAsync($"SET ROLE {role}");
                await direct.ExecAsync("RESET ALL");
                Assert.Equal(role, await direct.ScalarAsync<string>("SELECT current_user"));
            }

            await using var host = await StartAsync(1);
            await using var a = await host.OpenAsync();
            await using var b = await host.OpenAsync();
            await a.ExecAsync($"SET ROLE {role}");
            await a.ExecAsync("RESET ALL");
            Assert.Equal(role, await a.ScalarAsync<string>("SELECT current_user"));

            // Pool of one: if B gets the server now, it must not be running as A's role.
            var bUser = b.ScalarAsync<string>("SELECT current_user");
            var done = await Task.WhenAny(bUser, Task.Delay(2000));
            if (done == bUser)
            {
                Assert.Equal(PostgresInstance.AppUser, await bUser);
            }
            await a.ExecAsync("RESET ROLE");
            Assert.Equal(PostgresInstance.AppUser, await bUser.WaitAsync(TimeSpan.FromSeconds(15)));
        }
        finally
        {
            await Pg.ExecuteAsync($"DROP OWNED BY {role} CASCADE", PostgresInstance.AppDatabase);
            await Pg.ExecuteAsync($"DROP ROLE IF EXISTS {role}");
        }
    }

    /// <summary>A RESET that is only text inside an E'…' literal (backslash-escaped quote) must not unpin the client.</summary>
    [Fact]
    public async Task ResetInsideEscapeStringLiteral_DoesNotHandTheSettingToTheNextClient()
    {
        await using var host = await StartAsync(1);
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync();

        await a.ExecAsync($"SET work_mem = '{Marker}'");
        Assert.Equal("'; RESET work_mem; --", await a.ScalarAsync<string>("SELECT E'\\'; RESET work_mem; --'"));
        Assert.Equal(Marker, await a.ScalarAsync<string>("SHOW work_mem"));

        var bQuery = b.ScalarAsync<string>("SHOW work_mem");
        var done = await Task.WhenAny(bQuery, Task.Delay(2000));
        if (done == bQuery)
        {
            Assert.NotEqual(Marker, await bQuery);
        }
        await a.ExecAsync("RESET work_mem");
        Assert.NotEqual(Marker, await bQuery.WaitAsync(TimeSpan.FromSeconds(15)));
    }

    /// <summary>Function names are case-insensitive: Pg_Advisory_Lock takes a session lock that must keep A on its server.</summary>
    [Fact]
    public async Task MixedCaseAdvisoryLock_KeepsAOnItsServer()
    {
        await using var host = await StartAsync(1);
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync();

        await a.ExecAsync("SELECT Pg_Advisory_Lock(4343)");
        var pidA = await a.ScalarAsync<int>("SELECT pg_backend_pid()");

        // Pool of one: B either waits (A pinned) or runs on A's backend, where the lock is re-entrant.
        var bTry = b.ScalarAsync<bool>("SELECT pg_try_advisory_lock(4343) AND pg_backend_pid() <> " + pidA);
        var done = await Task.WhenAny(bTry, Task.Delay(2000));
        Assert.True(done != bTry, "B got A's server while A holds a session advisory lock (the lock leaked to B's transactions)");
        await a.ExecAsync("SELECT pg_advisory_unlock_all()");
        Assert.False(await bTry.WaitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task PinSessionStateOff_PgBouncerBehaviour_SetLeaksToTheNextClient()
    {
        await using var host = await StartAsync(1, pin: false);
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync();

        await a.ExecAsync($"SET work_mem = '{Marker}'");
        var pidA = await a.ScalarAsync<int>("SELECT pg_backend_pid()");

        // A did not keep the server: B gets the very same backend and sees A's setting.
        var (pidB, workMem) = await PidAndWorkMemAsync(b).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(pidA, pidB);
        Assert.Equal(Marker, workMem);

        // Likewise a temp table created by A is visible to B.
        var table = Sql.UniqueName("leak_tmp");
        await a.ExecAsync($"CREATE TEMP TABLE {table}(x int)");
        Assert.Equal(0L, await b.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        await a.ExecAsync("DISCARD ALL");
    }
}
