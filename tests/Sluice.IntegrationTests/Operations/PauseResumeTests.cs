using System.Diagnostics;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Operations;

/// <summary>PAUSE / RESUME (global and per database) while pgbench drives real traffic through Sluice (transaction pooling).</summary>
[Collection(PostgresCollection.Name)]
public sealed class PauseResumeTests
{
    private static readonly TimeSpan PgbenchTimeout = TimeSpan.FromSeconds(60);
    private readonly PostgresFixture _fixture;
    private readonly ITestOutputHelper _output;

    public PauseResumeTests(PostgresFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    public static TheoryData<string, string[]> Workloads => new()
    {
        { "select-only", ["-S"] },
        { "tpcb-like", [] },
    };

    [Theory]
    [MemberData(nameof(Workloads))]
    public async Task Pause_WaitsForRunningTransactions_HoldsQueries_AndResumeLetsPgbenchFinishWithoutFailures(string name, string[] script)
    {
        _ = name;
        await using var bench = await BenchDatabase.CreateAsync(_fixture.Postgres);
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output,
            ini => ini.Setting("default_pool_size", 10).Database(bench.Name, _fixture.Postgres.LibpqConnectString(bench.Name)));

        var pgbench = Ops.PgbenchAsync(host.Port, bench.Name, ["-c", "10", "-j", "2", "-T", "8", "-n", .. script], PgbenchTimeout);
        Assert.True(await Ops.UntilAsync(async () => (await Ops.RowAsync(host.ConsoleAsync, "SHOW STATS", "database", bench.Name)).Long("total_xact_count") > 50,
            TimeSpan.FromSeconds(15)), "pgbench did not get going through Sluice");

        var pause = await host.ConsoleAsync("PAUSE");
        Assert.True(pause.Success, pause.ToString());

        // PAUSE answers only once every server was released (and closed): none is linked to a client.
        var pool = await Ops.RowAsync(host.ConsoleAsync, "SHOW POOLS", "database", bench.Name);
        Assert.Equal("0", pool["sv_active"]);
        Assert.Equal("0", pool["sv_idle"]);
        // The servers are really gone on the PostgreSQL side.
        Assert.Equal(0, await _fixture.Postgres.WaitForBackendsAsync(n => n == 0, TimeSpan.FromSeconds(10), database: bench.Name));

        // pgbench's clients keep sending: their queries wait in the queue, nothing runs.
        Assert.True(await Ops.UntilAsync(async () => (await Ops.RowAsync(host.ConsoleAsync, "SHOW POOLS", "database", bench.Name)).Long("cl_waiting") > 0,
            TimeSpan.FromSeconds(5)), "no pgbench client waits while paused");
        var xactsAtPause = (await Ops.RowAsync(host.ConsoleAsync, "SHOW STATS", "database", bench.Name)).Long("total_xact_count");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(xactsAtPause, (await Ops.RowAsync(host.ConsoleAsync, "SHOW STATS", "database", bench.Name)).Long("total_xact_count"));
        if (pgbench.IsCompleted)
        {
            Assert.Fail("pgbench ended during the pause: " + await pgbench);
        }

        var resume = await host.ConsoleAsync("RESUME");
        Assert.True(resume.Success, resume.ToString());

        var report = new PgbenchReport(await pgbench);
        _output.WriteLine(report.Result.StdOut);
        report.AssertClean();
        Assert.True((await Ops.RowAsync(host.ConsoleAsync, "SHOW STATS", "database", bench.Name)).Long("total_xact_count") > xactsAtPause,
            "no transaction ran after RESUME");
    }

    [Fact]
    public async Task PauseDb_HoldsOnlyThatDatabase_AndResumeDbReleasesIt()
    {
        await using var bench = await BenchDatabase.CreateAsync(_fixture.Postgres);
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output,
            ini => ini.Setting("default_pool_size", 10).Database(bench.Name, _fixture.Postgres.LibpqConnectString(bench.Name)));
        await using var other = new NpgsqlConnection(host.ConnectionString(database: PostgresInstance.AppDatabase));
        await other.OpenAsync();
        Assert.Equal(1, await other.ScalarAsync<int>("SELECT 1"));

        var pgbench = Ops.PgbenchAsync(host.Port, bench.Name, ["-c", "10", "-j", "2", "-T", "8", "-n", "-S"], PgbenchTimeout);
        Assert.True(await Ops.UntilAsync(async () => (await Ops.RowAsync(host.ConsoleAsync, "SHOW STATS", "database", bench.Name)).Long("total_xact_count") > 50,
            TimeSpan.FromSeconds(15)), "pgbench did not get going through Sluice");

        var pause = await host.ConsoleAsync("PAUSE " + bench.Name);
        Assert.True(pause.Success, pause.ToString());
        Assert.Equal("0", (await Ops.RowAsync(host.ConsoleAsync, "SHOW POOLS", "database", bench.Name))["sv_active"]);

        // The other database is not paused: its client runs queries at once.
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(i, await other.ScalarAsync<int>("SELECT $1::int", i));
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"appdb queries took {sw.Elapsed} while only {bench.Name} was paused");
        await using (var fresh = new NpgsqlConnection(host.ConnectionString(database: PostgresInstance.AppDatabase)))
        {
            await fresh.OpenAsync();
            Assert.Equal(2, await fresh.ScalarAsync<int>("SELECT 2"));
        }
        // ... and the /readyz-style global state is unaffected.
        Assert.False(host.Pooler.IsPaused);

        var xactsAtPause = (await Ops.RowAsync(host.ConsoleAsync, "SHOW STATS", "database", bench.Name)).Long("total_xact_count");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(xactsAtPause, (await Ops.RowAsync(host.ConsoleAsync, "SHOW STATS", "database", bench.Name)).Long("total_xact_count"));

        var resume = await host.ConsoleAsync("RESUME " + bench.Name);
        Assert.True(resume.Success, resume.ToString());

        var report = new PgbenchReport(await pgbench);
        _output.WriteLine(report.Result.StdOut);
        report.AssertClean();
        Assert.True((await Ops.RowAsync(host.ConsoleAsync, "SHOW STATS", "database", bench.Name)).Long("total_xact_count") > xactsAtPause);
    }

    /// <summary>
    /// PgBouncer's PAUSE is a global mode (cf_pause_mode) checked whenever a server would be handed out, so it
    /// also holds a pool that did not exist yet when PAUSE ran: a first client of another database waits.
    /// </summary>
    [Fact]
    public async Task Pause_AlsoHoldsAPoolCreatedAfterThePause()
    {
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output,
            ini => ini.Database("late", _fixture.Postgres.LibpqConnectString(PostgresInstance.AppDatabase)));
        await using (var warm = new NpgsqlConnection(host.ConnectionString(database: PostgresInstance.AppDatabase)))
        {
            await warm.OpenAsync();
            await warm.ScalarAsync<int>("SELECT 1");
        }

        var pause = await host.ConsoleAsync("PAUSE");
        Assert.True(pause.Success, pause.ToString());

        // "late" has no pool yet. Its first client's login (which needs a server for the welcome) or query must wait.
        var query = Task.Run(async () =>
        {
            await using var conn = new NpgsqlConnection(host.ConnectionString(database: "late", extra: "Timeout=30"));
            await conn.OpenAsync();
            return await conn.ScalarAsync<int>("SELECT 42");
        });
        var finishedEarly = await Task.WhenAny(query, Task.Delay(TimeSpan.FromSeconds(2))) == query;

        var resume = await host.ConsoleAsync("RESUME");
        Assert.True(resume.Success, resume.ToString());
        Assert.Equal(42, await query.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.False(finishedEarly, "a client of a pool created after PAUSE got a server while the pooler was paused");
    }

    [Fact]
    public async Task Pause_ReturnsOnlyAfterTheOpenTransactionEnds()
    {
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output);
        await using var client = new NpgsqlConnection(host.ConnectionString());
        await client.OpenAsync();
        await client.ExecAsync("BEGIN");
        await client.ScalarAsync<int>("SELECT 1");

        var sw = Stopwatch.StartNew();
        var pause = host.ConsoleAsync("PAUSE");
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        if (pause.IsCompleted)
        {
            Assert.Fail("PAUSE answered while a transaction still held its server: " + await pause);
        }

        // The transaction may go on (its server stays linked) and end.
        Assert.Equal(5, await client.ScalarAsync<int>("SELECT 5"));
        await client.ExecAsync("COMMIT");
        var result = await pause.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(result.Success, result.ToString());
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(1.5));
        Assert.Equal("0", (await Ops.RowAsync(host.ConsoleAsync, "SHOW POOLS", "database", PostgresInstance.AppDatabase))["sv_active"]);

        // The next statement waits for RESUME.
        var next = client.ScalarAsync<int>("SELECT 6");
        Assert.NotSame(next, await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(1))));
        Assert.True((await host.ConsoleAsync("RESUME")).Success);
        Assert.Equal(6, await next.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
