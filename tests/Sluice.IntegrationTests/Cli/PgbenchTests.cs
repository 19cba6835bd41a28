using System.Globalization;
using System.Text.RegularExpressions;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Cli;

/// <summary>Short pgbench runs through the pooler (libpq client, simple and extended protocol).</summary>
[Collection(PostgresCollection.Name)]
public sealed partial class PgbenchTests(PostgresFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _database = Sql.UniqueName("bench");

    private PostgresInstance Pg => fixture.Postgres;

    private string Pgbench => Path.Combine(Pg.BinDir, "pgbench");

    private static Dictionary<string, string> Env => new() { ["PGPASSWORD"] = PostgresInstance.AppPassword, ["PGCONNECT_TIMEOUT"] = "15" };

    [GeneratedRegex(@"^tps = ([0-9.]+)", RegexOptions.Multiline)]
    private static partial Regex TpsRegex();

    public async Task InitializeAsync()
    {
        await Pg.ExecuteAsync($"CREATE DATABASE {_database} OWNER {PostgresInstance.AppUser}");
        var init = await ProcessRunner.RunAsync(Pgbench,
            ["-i", "-s", "1", "-q", "-h", Pg.Host, "-p", Pg.Port.ToString(CultureInfo.InvariantCulture), "-U", PostgresInstance.AppUser, _database],
            TimeSpan.FromSeconds(120), env: Env);
        init.EnsureSuccess("pgbench -i");
    }

    public async Task DisposeAsync()
    {
        try
        {
            await Pg.ExecuteAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
        }
        catch (Npgsql.NpgsqlException)
        {
        }
    }

    private async Task RunAsync(string poolMode, int poolSize, params string[] args)
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("pool_mode", poolMode)
            .Setting("default_pool_size", poolSize)
            .Database(_database, Pg.LibpqConnectString(_database)));
        var all = new List<string>(args) { "-h", "127.0.0.1", "-p", host.PortText, "-U", PostgresInstance.AppUser, _database };
        var r = await ProcessRunner.RunAsync(Pgbench, all, TimeSpan.FromSeconds(60), env: Env);
        output.WriteLine($"pgbench {string.Join(' ', args)} ({poolMode}, pool {poolSize}):\n{r.StdOut}\n{r.StdErr}");
        Assert.True(r.Success, r.ToString() + "\n--- sluice log ---\n" + host.LogTail());
        Assert.Contains("number of failed transactions: 0 ", r.StdOut, StringComparison.Ordinal);
        var tps = TpsRegex().Match(r.StdOut);
        Assert.True(tps.Success, "no tps line in pgbench output");
        Assert.True(double.Parse(tps.Groups[1].Value, CultureInfo.InvariantCulture) > 0, $"tps = {tps.Groups[1].Value}");
        Assert.DoesNotContain("error", r.StdErr, StringComparison.OrdinalIgnoreCase);

        // The database is consistent: each transaction updated one account and wrote one history row.
        await using var conn = await host.OpenAsync(database: _database);
        Assert.Equal(await conn.ScalarAsync<long>("SELECT sum(delta) FROM pgbench_history"), await conn.ScalarAsync<long>("SELECT sum(abalance) FROM pgbench_accounts"));
    }

    [Fact]
    public Task TransactionMode_Extended_50Clients() =>
        RunAsync("transaction", 20, "-c", "50", "-j", "2", "-T", "5", "-M", "extended", "-n");

    [Fact]
    public Task TransactionMode_Simple_50Clients() =>
        RunAsync("transaction", 20, "-c", "50", "-j", "2", "-T", "5", "-M", "simple", "-n");

    [Fact]
    public Task SessionMode_20Clients() =>
        RunAsync("session", 20, "-c", "20", "-j", "2", "-T", "5", "-n");
}
