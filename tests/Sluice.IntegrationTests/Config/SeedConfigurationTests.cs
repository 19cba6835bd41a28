using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Sluice.IntegrationTests.Admin;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.IntegrationTests.Maintenance;
using Sluice.Testing;
using Sluice.Testing.Admin;

namespace Sluice.IntegrationTests.Config;

/// <summary>
/// The seed configuration (<see cref="SeedConfig"/>) run by the published sluice binary as the unprivileged user,
/// (a) from a hand-written pgbouncer.ini and (b) from the edoburu/pgbouncer image's environment variables with no
/// config argument; in both cases every value is shown in effect against real PostgreSQL.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SeedConfigurationTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    private sealed class Running(BackgroundProcess process, int port) : IAsyncDisposable
    {
        public BackgroundProcess Process { get; } = process;

        public int Port { get; } = port;

        public string ConnectionString(Action<NpgsqlConnectionStringBuilder>? tweak = null)
        {
            var b = new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1",
                Port = Port,
                Username = SeedConfig.User,
                Password = SeedConfig.Password,
                Database = SeedConfig.Database,
                Pooling = false,
                Timeout = 60,
                CommandTimeout = 60,
            };
            tweak?.Invoke(b);
            return b.ConnectionString;
        }

        public async Task<NpgsqlConnection> OpenAsync()
        {
            var conn = new NpgsqlConnection(ConnectionString());
            await conn.OpenAsync();
            return conn;
        }

        public async ValueTask DisposeAsync()
        {
            await Process.SignalAsync("INT");   // fast shutdown; the tree is killed anyway
            await Process.WaitForExitAsync(TimeSpan.FromSeconds(5));
            await Process.DisposeAsync();
        }
    }

    /// <summary>Starts the binary as the unprivileged user; <paramref name="start"/> gets a free port and returns the process.</summary>
    private async Task<Running> StartAsync(Func<int, BackgroundProcess> start)
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = TempFiles.GetFreeTcpPort();
            var process = start(port);
            try
            {
                await process.WaitForOutputAsync($"listening on 127.0.0.1:{port}", TimeSpan.FromSeconds(30));
                return new Running(process, port);
            }
            catch (Exception) when (attempt < 3 && process.Output.Contains("cannot listen", StringComparison.Ordinal))
            {
                await process.DisposeAsync();   // the free port was taken meanwhile
            }
            catch
            {
                output.WriteLine(process.Output);
                await process.DisposeAsync();
                throw;
            }
        }
    }

    private async Task WaitForNoSeedBackendsAsync() =>
        await Pg.WaitForBackendsAsync(n => n == 0, TimeSpan.FromSeconds(15), SeedConfig.User);

    // ------------------------------------------------------------------ (a) pgbouncer.ini

    [Fact]
    public async Task SeedIni_EveryValueIsInEffect()
    {
        await WaitForNoSeedBackendsAsync();
        using var dir = TempDirectory.Create("sluice-seed-ini-");
        var authFile = dir.WriteFile("userlist.txt", SeedConfig.UserlistLine + "\n");
        var binary = SluiceBinary.LocateForUnprivilegedUser();
        await using var running = await StartAsync(port =>
        {
            dir.WriteFile("pgbouncer.ini", SeedConfig.Ini(Pg, port, authFile));
            return ProcessRunner.StartBackground(binary, [dir.File("pgbouncer.ini")], runAsUser: UnprivilegedUser.Name);
        });

        await AssertSeedInEffectAsync(running);
    }

    // ------------------------------------------------------------------ (b) the image's environment

    private Dictionary<string, string> ImageEnvironment(TempDirectory dir, bool databaseUrl)
    {
        var env = SeedConfig.Variables.ToDictionary(v => v.Name, v => v.Value);
        var pgPort = Pg.Port.ToString(CultureInfo.InvariantCulture);
        if (databaseUrl)
        {
            env["DATABASE_URL"] = $"postgres://{SeedConfig.User}:{SeedConfig.Password}@{Pg.Host}:{pgPort}/{SeedConfig.Database}";
        }
        else
        {
            env["DB_HOST"] = Pg.Host;
            env["DB_PORT"] = pgPort;
            env["DB_USER"] = SeedConfig.User;
            env["DB_PASSWORD"] = SeedConfig.Password;
            env["DB_NAME"] = SeedConfig.Database;
        }
        env["SLUICE_CONFIG_DIR"] = dir.Path;
        env["AUTH_FILE"] = dir.File("userlist.txt");
        env["LISTEN_ADDR"] = "127.0.0.1";
        return env;
    }

    private Task<Running> StartFromEnvironmentAsync(Dictionary<string, string> env)
    {
        var binary = SluiceBinary.LocateForUnprivilegedUser();
        return StartAsync(port =>
        {
            env["LISTEN_PORT"] = port.ToString(CultureInfo.InvariantCulture);
            return ProcessRunner.StartBackground(binary, [], env, runAsUser: UnprivilegedUser.Name);   // no config argument
        });
    }

    /// <summary>A restart with the files of an earlier start in place: the existing ini, and so its port, is used.</summary>
    private async Task<Running> RestartFromEnvironmentAsync(Dictionary<string, string> env, int port)
    {
        var process = ProcessRunner.StartBackground(SluiceBinary.LocateForUnprivilegedUser(), [], env, runAsUser: UnprivilegedUser.Name);
        try
        {
            await process.WaitForOutputAsync($"listening on 127.0.0.1:{port}", TimeSpan.FromSeconds(30));
            return new Running(process, port);
        }
        catch
        {
            output.WriteLine(process.Output);
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>The generated pgbouncer.ini and userlist.txt are what entrypoint.sh would write.</summary>
    private async Task AssertImageFilesAsync(TempDirectory dir, IReadOnlyDictionary<string, string> env, Running running)
    {
        var iniText = File.ReadAllText(dir.File("pgbouncer.ini"));
        output.WriteLine(iniText);
        var generated = SeedConfig.ParseIni(iniText);
        var expected = SeedConfig.ImageIni(env);
        // The image also writes "user = postgres" (its container runs as postgres; PgBouncer then setuid()s only as
        // root). Sluice leaves it out; every other key must be there with the image's value.
        expected.Remove(("pgbouncer", "user"));
        generated.Remove(("pgbouncer", "user"));
        Assert.Equal(expected.OrderBy(kv => kv.Key).Select(kv => $"[{kv.Key.Section}] {kv.Key.Key} = {kv.Value}"),
            generated.OrderBy(kv => kv.Key).Select(kv => $"[{kv.Key.Section}] {kv.Key.Key} = {kv.Value}"));

        // The image prints the generated file on stdout.
        Assert.Contains($"default_pool_size = 25", running.Process.Output);

        var userlist = File.ReadAllLines(dir.File("userlist.txt")).Where(l => l.Length > 0).ToList();
        Assert.Equal([SeedConfig.UserlistLine], userlist);
        // The md5 secret is exactly PostgreSQL's own for that role (the fixture stores md5user md5-hashed).
        Assert.Equal(await Pg.GetScramSecretAsync(SeedConfig.User), TempFiles.Md5Secret(SeedConfig.User, SeedConfig.Password));
    }

    [Fact]
    public async Task SeedEnvironment_GeneratesTheImagesFiles_AndEveryValueIsInEffect()
    {
        await WaitForNoSeedBackendsAsync();
        using var dir = TempDirectory.Create("sluice-seed-env-");
        var env = ImageEnvironment(dir, databaseUrl: false);
        await using var running = await StartFromEnvironmentAsync(env);

        await AssertImageFilesAsync(dir, env, running);
        await AssertSeedInEffectAsync(running);
    }

    [Fact]
    public async Task SeedDatabaseUrl_GeneratesTheSameFiles_ServesClients_AndARestartKeepsThem()
    {
        await WaitForNoSeedBackendsAsync();
        using var dir = TempDirectory.Create("sluice-seed-url-");
        var env = ImageEnvironment(dir, databaseUrl: true);
        string firstIni;
        int firstPort;
        await using (var running = await StartFromEnvironmentAsync(env))
        {
            var asVariables = new Dictionary<string, string>(env)
            {
                ["DB_HOST"] = Pg.Host,
                ["DB_PORT"] = Pg.Port.ToString(CultureInfo.InvariantCulture),
                ["DB_USER"] = SeedConfig.User,
                ["DB_NAME"] = SeedConfig.Database,
            };
            await AssertImageFilesAsync(dir, asVariables, running);
            await using var conn = await running.OpenAsync();
            Assert.Equal(SeedConfig.User, await conn.ScalarAsync<string>("SELECT current_user"));
            firstIni = File.ReadAllText(dir.File("pgbouncer.ini"));
            firstPort = running.Port;
        }

        // A second start (the files are on a volume) with another LISTEN_PORT: as in the image, the existing ini is
        // kept (so the old port is used) and the user is not appended twice.
        env["LISTEN_PORT"] = TempFiles.GetFreeTcpPort().ToString(CultureInfo.InvariantCulture);
        await using (var again = await RestartFromEnvironmentAsync(env, firstPort))
        {
            Assert.Equal(firstIni, File.ReadAllText(dir.File("pgbouncer.ini")));
            Assert.Equal([SeedConfig.UserlistLine], File.ReadAllLines(dir.File("userlist.txt")).Where(l => l.Length > 0));
            await using var conn = await again.OpenAsync();
            Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));
        }
    }

    // ------------------------------------------------------------------ the values in effect

    private async Task AssertSeedInEffectAsync(Running running)
    {
        // SHOW CONFIG on the admin console (admin_users = md5user).
        var show = await Psql.RunAsync(running.Port, "SHOW CONFIG", SeedConfig.User, SeedConfig.Password);
        Assert.True(show.Success, show.ToString());
        var config = show.Records().ToDictionary(r => r["key"], r => r["value"]);
        Assert.Equal("transaction", config["pool_mode"]);
        Assert.Equal("1000", config["max_client_conn"]);
        Assert.Equal("25", config["default_pool_size"]);
        Assert.Equal("10", config["min_pool_size"]);
        Assert.Equal("5", config["reserve_pool_size"]);
        Assert.Equal("100", config["max_db_connections"]);
        Assert.Equal("3600", config["server_lifetime"]);
        Assert.Equal("1", config["log_connections"]);
        Assert.Equal("1", config["log_disconnections"]);
        Assert.Equal("md5", config["auth_type"]);

        // min_pool_size 10: nothing before the first client, ten backends soon after it.
        await Task.Delay(1200);
        Assert.Equal(0, await Pg.CountBackendsAsync(SeedConfig.User));
        await using (var first = await running.OpenAsync())
        {
            Assert.Equal(SeedConfig.User, await first.ScalarAsync<string>("SELECT current_user"));
            await Pg.WaitForBackendsAsync(n => n == 10, TimeSpan.FromSeconds(10), SeedConfig.User);
            await Task.Delay(1200);
            Assert.Equal(10, await Pg.CountBackendsAsync(SeedConfig.User));
        }

        // Transaction pooling: 40 connected clients, one query each, share the backends.
        var clients = new List<NpgsqlConnection>();
        try
        {
            var pidOfClient = new List<int>();
            for (var i = 0; i < 40; i++)
            {
                var c = await running.OpenAsync();
                clients.Add(c);
                pidOfClient.Add(await c.ScalarAsync<int>("SELECT pg_backend_pid()"));
            }
            Assert.True(pidOfClient.GroupBy(p => p).Any(g => g.Count() >= 2), "no two clients shared a backend");
            Assert.InRange(pidOfClient.Distinct().Count(), 1, 25);
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }

        // default_pool_size 25: never more than 25 backends under 100 concurrent clients.
        await using (var sampler = new RolesSampler(Pg, SeedConfig.User))
        {
            var failures = new ConcurrentBag<string>();
            await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(async () =>
            {
                try
                {
                    await using var c = await running.OpenAsync();
                    await using var tx = await c.BeginTransactionAsync();
                    await c.ExecAsync("SELECT pg_sleep(0.1)");
                    await tx.CommitAsync();
                }
                catch (Exception e)
                {
                    failures.Add(MaintenanceKit.ErrorText(e));
                }
            }))).WaitAsync(TimeSpan.FromMinutes(2));
            await sampler.StopAsync();
            Assert.True(failures.IsEmpty, $"{failures.Count} clients failed, e.g. {failures.FirstOrDefault()}");
            output.WriteLine($"100 clients: peak {sampler.Max} backends");
            Assert.InRange(sampler.Max, 10, 25);
        }

        // reserve_pool_size 5: with all 25 busy, waiting clients get up to 5 more after reserve_pool_timeout (5 s).
        var holders = new List<(NpgsqlConnection Conn, NpgsqlTransaction Tx)>();
        try
        {
            for (var i = 0; i < 25; i++)
            {
                var c = await running.OpenAsync();
                var tx = await c.BeginTransactionAsync();
                await c.ExecAsync("SELECT 1");
                holders.Add((c, tx));
            }
            Assert.Equal(25, await Pg.CountBackendsAsync(SeedConfig.User));
            await using var sampler = new RolesSampler(Pg, SeedConfig.User);
            var sw = Stopwatch.StartNew();
            var waiting = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
            {
                await using var c = await running.OpenAsync();
                var pid = await c.ScalarAsync<int>("SELECT pg_backend_pid()");
                return (Pid: pid, Elapsed: sw.Elapsed);
            }))).WaitAsync(TimeSpan.FromSeconds(30));
            await sampler.StopAsync();

            var holderPids = new List<int>();
            foreach (var (c, _) in holders)
            {
                holderPids.Add(await c.ScalarAsync<int>("SELECT pg_backend_pid()"));
            }
            output.WriteLine($"reserve: holders {string.Join(",", holderPids.Order())}; waiters got {string.Join(",", waiting.Select(w => w.Pid))}; backends now {await Pg.CountBackendsAsync(SeedConfig.User)}");
            output.WriteLine($"reserve: peak {sampler.Max}, waits {string.Join(", ", waiting.Select(w => w.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)))} s");
            Assert.All(waiting, w => Assert.True(w.Elapsed >= TimeSpan.FromSeconds(4.5), $"served after {w.Elapsed}, before reserve_pool_timeout"));
            Assert.All(waiting, w => Assert.DoesNotContain(w.Pid, holderPids));
            // Reserve servers were opened (they may finish logging in after the waiters were served), never more than 5.
            var withReserve = await Pg.CountBackendsAsync(SeedConfig.User);
            Assert.InRange(withReserve, 26, 30);
            await Task.Delay(1200);
            Assert.InRange(await Pg.CountBackendsAsync(SeedConfig.User), 26, 30);
            Assert.InRange(sampler.Max, 25, 30);
        }
        finally
        {
            foreach (var (c, tx) in holders)
            {
                await tx.DisposeAsync();
                await c.DisposeAsync();
            }
        }

        // max_db_connections 100 is above pool + reserve here, so it never bites; it is set (SHOW CONFIG above).
        Assert.True(await Pg.CountBackendsAsync(SeedConfig.User) <= 30);

        // log_connections / log_disconnections: the login and "closing because" lines are on stderr.
        await using (var logged = await running.OpenAsync())
        {
            await logged.ExecAsync("SELECT 1");
        }
        await running.Process.WaitForOutputAsync($"login attempt: db={SeedConfig.Database} user={SeedConfig.User}", TimeSpan.FromSeconds(5));
        await running.Process.WaitForOutputAsync("closing because: client close request", TimeSpan.FromSeconds(5));
        Assert.Contains(" LOG ", running.Process.Output);
    }
}
