using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Operations;

/// <summary>RELOAD (console) and SIGHUP (published binary) while pgbench runs: new settings and databases apply, no transaction fails.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ReloadTests
{
    private readonly PostgresFixture _fixture;
    private readonly ITestOutputHelper _output;

    public ReloadTests(PostgresFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    [Fact]
    public async Task Reload_DuringPgbench_AppliesPoolSizeAndNewDatabase_WithoutFailedTransactions()
    {
        await using var bench = await BenchDatabase.CreateAsync(_fixture.Postgres);
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output,
            ini => ini.Setting("default_pool_size", 4).Database(bench.Name, _fixture.Postgres.LibpqConnectString(bench.Name)));
        Assert.Equal("4", await Ops.ConfigValueAsync(host.ConsoleAsync, "default_pool_size"));

        var pgbench = Ops.PgbenchAsync(host.Port, bench.Name, ["-c", "10", "-j", "2", "-T", "6", "-n"], TimeSpan.FromSeconds(60));
        Assert.True(await Ops.UntilAsync(async () => (await Ops.RowAsync(host.ConsoleAsync, "SHOW STATS", "database", bench.Name)).Long("total_xact_count") > 50,
            TimeSpan.FromSeconds(15)), "pgbench did not get going through Sluice");

        host.Ini.Setting("default_pool_size", 8).Database("added", _fixture.Postgres.LibpqConnectString(PostgresInstance.AppDatabase));
        host.WriteIni();
        var reload = await host.ConsoleAsync("RELOAD");
        Assert.True(reload.Success, reload.ToString());

        Assert.Equal("8", await Ops.ConfigValueAsync(host.ConsoleAsync, "default_pool_size"));
        Assert.Equal("8", (await Ops.RowAsync(host.ConsoleAsync, "SHOW DATABASES", "name", bench.Name))["pool_size"]);
        Assert.Equal(PostgresInstance.AppDatabase, (await Ops.RowAsync(host.ConsoleAsync, "SHOW DATABASES", "name", "added"))["database"]);
        await using (var added = new NpgsqlConnection(host.ConnectionString(database: "added")))
        {
            await added.OpenAsync();
            Assert.Equal(PostgresInstance.AppDatabase, await added.ScalarAsync<string>("SELECT current_database()"));
        }

        // The larger pool is used: with 10 pgbench clients, more than the old 4 servers come up.
        var maxServers = 0L;
        Assert.True(await Ops.UntilAsync(async () =>
        {
            var n = await _fixture.Postgres.CountBackendsAsync(database: bench.Name);
            maxServers = Math.Max(maxServers, n);
            return n > 4;
        }, TimeSpan.FromSeconds(4)), $"the pool did not grow past the old default_pool_size 4 (max {maxServers} servers)");

        var report = new PgbenchReport(await pgbench);
        _output.WriteLine(report.Result.StdOut);
        report.AssertClean();
        Assert.True(await _fixture.Postgres.CountBackendsAsync(database: bench.Name) <= 8);
    }

    [Fact]
    public async Task Sighup_DuringPgbench_ReloadsTheChangedIni_WithoutFailedTransactions()
    {
        await using var bench = await BenchDatabase.CreateAsync(_fixture.Postgres);
        await using var sluice = await SluiceProcess.StartAsync(_fixture.Postgres,
            ini => ini.Setting("default_pool_size", 4).Database(bench.Name, _fixture.Postgres.LibpqConnectString(bench.Name)));

        var pgbench = Ops.PgbenchAsync(sluice.Port, bench.Name, ["-c", "10", "-j", "2", "-T", "6", "-n", "-S"], TimeSpan.FromSeconds(60));
        Assert.True(await Ops.UntilAsync(async () => (await Ops.RowAsync(sluice.ConsoleAsync, "SHOW STATS", "database", bench.Name)).Long("total_xact_count") > 50,
            TimeSpan.FromSeconds(15)), "pgbench did not get going through Sluice:\n" + sluice.Output);

        sluice.Ini.Setting("default_pool_size", 9).Database("added", _fixture.Postgres.LibpqConnectString(PostgresInstance.AppDatabase));
        sluice.Dir.WriteIni("sluice.ini", sluice.Ini);
        Assert.True(await sluice.SignalAsync("HUP"));

        Assert.True(await Ops.UntilAsync(async () => await Ops.ConfigValueAsync(sluice.ConsoleAsync, "default_pool_size") == "9", TimeSpan.FromSeconds(10)),
            "SHOW CONFIG does not show the reloaded default_pool_size:\n" + sluice.Output);
        await using (var added = new NpgsqlConnection(sluice.ConnectionString("added")))
        {
            await added.OpenAsync();
            Assert.Equal(PostgresInstance.AppDatabase, await added.ScalarAsync<string>("SELECT current_database()"));
        }

        var report = new PgbenchReport(await pgbench);
        _output.WriteLine(report.Result.StdOut);
        report.AssertClean();
        Assert.False(sluice.Process.HasExited, "sluice exited on SIGHUP:\n" + sluice.Output);
        Assert.Contains("SIGHUP", sluice.Output);
    }
}
