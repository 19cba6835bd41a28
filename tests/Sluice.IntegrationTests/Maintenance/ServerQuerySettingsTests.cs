using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using static Sluice.IntegrationTests.Maintenance.MaintenanceKit;

namespace Sluice.IntegrationTests.Maintenance;

/// <summary>server_check_query/server_check_delay, server_reset_query_always and connect_query against real PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ServerQuerySettingsTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    /// <summary>A sequence in appdb the role may call nextval on; the caller drops it.</summary>
    private async Task<string> CreateSequenceAsync(TestRole role)
    {
        var name = Sql.UniqueName("seq");
        await Pg.ExecuteAsync($"CREATE SEQUENCE {name}; GRANT USAGE, SELECT ON SEQUENCE {name} TO {role.Name}", PostgresInstance.AppDatabase);
        return name;
    }

    private async Task<long> CallsAsync(string sequence) =>
        await Pg.ScalarAsync<bool>($"SELECT is_called FROM {sequence}", PostgresInstance.AppDatabase)
            ? await Pg.ScalarAsync<long>($"SELECT last_value FROM {sequence}", PostgresInstance.AppDatabase)
            : 0;

    [Fact]
    public async Task ServerCheckQuery_IdleServerKilled_NextClientStillSucceeds()
    {
        await using var role = await TestRole.CreateAsync(Pg, "chk");
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("default_pool_size", 1).Setting("server_check_delay", 0).Setting("server_check_query", "select 1"),
            users: [role.AuthFileEntry]);
        int first;
        await using (var a = await host.OpenAsync(role.Name, role.Password))
        {
            first = await a.ScalarAsync<int>("SELECT pg_backend_pid()");
        }
        Assert.True(await Pg.ScalarAsync<bool>($"SELECT pg_terminate_backend({first})"));
        await EventuallyAsync(async () => !(await BackendPidsAsync(Pg, role.Name)).Contains(first), "the idle backend is gone");
        await Task.Delay(100);   // past server_check_delay = 0

        await using var b = await host.OpenAsync(role.Name, role.Password);
        var second = await b.ScalarAsync<int>("SELECT pg_backend_pid()");

        Assert.NotEqual(first, second);
        Assert.Equal(1, await b.ScalarAsync<int>("SELECT 1"));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(30, false)]
    public async Task ServerCheckQuery_RunsBeforeReuse_OnlyWhenIdleLongerThanServerCheckDelay(int delay, bool expectChecks)
    {
        await using var role = await TestRole.CreateAsync(Pg, "chkq");
        var sequence = await CreateSequenceAsync(role);
        try
        {
            await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
                .Setting("default_pool_size", 1)
                .Setting("server_check_delay", delay)
                .Setting("server_check_query", $"select nextval('{sequence}')"),
                users: [role.AuthFileEntry]);
            await using var client = await host.OpenAsync(role.Name, role.Password);
            const int transactions = 10;
            for (var i = 0; i < transactions; i++)
            {
                await Task.Delay(20);
                Assert.Equal(i, await client.ScalarAsync<int>("SELECT $1::int", i));
            }

            var calls = await CallsAsync(sequence);
            output.WriteLine($"server_check_query ran {calls} times for {transactions} transactions (server_check_delay = {delay})");
            if (expectChecks)
            {
                // Every reuse of the idle server is checked first (the very first use may follow the welcome's release).
                Assert.InRange(calls, transactions - 1, transactions + 1);
            }
            else
            {
                Assert.Equal(0, calls);
            }
        }
        finally
        {
            await Pg.ExecuteAsync($"DROP SEQUENCE IF EXISTS {sequence}", PostgresInstance.AppDatabase);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ServerResetQueryAlways_TransactionMode_SessionStateDoesNotLeakToTheNextClient(bool always)
    {
        await using var role = await TestRole.CreateAsync(Pg, "rst");
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("pool_mode", "transaction")
            .Setting("default_pool_size", 1)
            .Setting("pin_session_state", 0)   // PgBouncer's behaviour: a SET does not keep the server
            .Setting("server_reset_query_always", always ? 1 : 0),
            users: [role.AuthFileEntry]);
        await using var a = await host.OpenAsync(role.Name, role.Password);
        await using var b = await host.OpenAsync(role.Name, role.Password);

        var pidA = await a.ScalarAsync<int>("SELECT pg_backend_pid()");
        await a.ExecAsync("SET statement_timeout = '4321s'");   // an untracked session setting
        var pidB = await b.ScalarAsync<int>("SELECT pg_backend_pid()");
        var seenByB = await b.ScalarAsync<string>("SHOW statement_timeout");

        Assert.Equal(pidA, pidB);   // one server, shared
        if (always)
        {
            Assert.Equal("0", seenByB);
        }
        else
        {
            // Without the reset the setting leaks, which is exactly what server_reset_query_always exists for.
            Assert.Equal("4321s", seenByB);
        }
    }

    [Fact]
    public async Task ConnectQuery_RunsOncePerServer()
    {
        await using var role = await TestRole.CreateAsync(Pg, "cq");
        var sequence = await CreateSequenceAsync(role);
        try
        {
            var connectQuery = $"SELECT set_config(''sluice.cq'', nextval(''{sequence}'')::text, false)";
            await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
                .Setting("default_pool_size", 3)
                .Database(PostgresInstance.AppDatabase, Pg.LibpqConnectString(PostgresInstance.AppDatabase, $"connect_query='{connectQuery}'")),
                users: [role.AuthFileEntry]);

            // Three concurrent transactions open three servers.
            var conns = new List<NpgsqlConnection>();
            var seen = new Dictionary<int, string>();
            try
            {
                var txs = new List<NpgsqlTransaction>();
                for (var i = 0; i < 3; i++)
                {
                    var c = await host.OpenAsync(role.Name, role.Password);
                    conns.Add(c);
                    txs.Add(await c.BeginTransactionAsync());
                    seen[await c.ScalarAsync<int>("SELECT pg_backend_pid()")] = await c.ScalarAsync<string>("SELECT current_setting('sluice.cq')");
                }
                foreach (var tx in txs)
                {
                    await tx.CommitAsync();
                }
                // Many more transactions reuse those servers: connect_query must not run again.
                for (var round = 0; round < 20; round++)
                {
                    var c = conns[round % 3];
                    var pid = await c.ScalarAsync<int>("SELECT pg_backend_pid()");
                    Assert.True(seen.ContainsKey(pid), "a new server appeared");
                    Assert.Equal(seen[pid], await c.ScalarAsync<string>("SELECT current_setting('sluice.cq')"));
                }
            }
            finally
            {
                foreach (var c in conns)
                {
                    await c.DisposeAsync();
                }
            }

            Assert.Equal(3, seen.Count);
            Assert.Equal(["1", "2", "3"], seen.Values.Order());
            Assert.Equal(3, await CallsAsync(sequence));
        }
        finally
        {
            await Pg.ExecuteAsync($"DROP SEQUENCE IF EXISTS {sequence}", PostgresInstance.AppDatabase);
        }
    }
}
