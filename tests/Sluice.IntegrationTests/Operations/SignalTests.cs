using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;

namespace Sluice.IntegrationTests.Operations;

/// <summary>
/// The published binary under PgBouncer's signals (pgbouncer.md §4.2), its pidfile, -d and log options (§4.1, §1.3).
/// Sluice runs as the unprivileged user; signals go to the pid in its pidfile, not to the runuser wrapper.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SignalTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(15);
    private readonly PostgresFixture _fixture;
    private readonly ITestOutputHelper _output;

    public SignalTests(PostgresFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    [Fact]
    public async Task Sigterm_StopsAccepting_ConnectedClientKeepsWorking_ExitsWhenItLeaves()
    {
        await using var sluice = await SluiceProcess.StartAsync(_fixture.Postgres);
        Assert.True(SluiceProcess.IsAlive(sluice.Pid));
        await using var client = new NpgsqlConnection(sluice.ConnectionString());
        await client.OpenAsync();
        Assert.Equal(1, await client.ScalarAsync<int>("SELECT 1"));

        Assert.True(await sluice.SignalAsync("TERM"));

        Assert.True(await Ops.UntilAsync(() => Ops.IsRefusedAsync(sluice.Port), TimeSpan.FromSeconds(10)),
            "sluice still accepts TCP connections after SIGTERM:\n" + sluice.Output);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(i, await client.ScalarAsync<int>("SELECT $1::int", i));
        }
        await using (var tx = await client.BeginTransactionAsync())
        {
            Assert.Equal(2, await client.ScalarAsync<int>("SELECT 2"));
            await tx.CommitAsync();
        }
        Assert.Null(await sluice.WaitForExitAsync(TimeSpan.FromSeconds(1)));
        Assert.True(File.Exists(sluice.PidFile));

        await client.CloseAsync();
        var exit = await sluice.WaitForExitAsync(ExitTimeout);
        _output.WriteLine(sluice.Output);
        Assert.True(exit is not null, "sluice did not exit after its last client left:\n" + sluice.Output);
        Assert.Equal(0, exit);
        Assert.False(File.Exists(sluice.PidFile), "pidfile left behind");
        Assert.Contains("SIGTERM", sluice.Output);
    }

    [Fact]
    public async Task SecondSigterm_ExitsAtOnce()
    {
        await using var sluice = await SluiceProcess.StartAsync(_fixture.Postgres);
        await using var client = new NpgsqlConnection(sluice.ConnectionString());
        await client.OpenAsync();
        Assert.Equal(1, await client.ScalarAsync<int>("SELECT 1"));

        Assert.True(await sluice.SignalAsync("TERM"));
        Assert.True(await Ops.UntilAsync(() => Ops.IsRefusedAsync(sluice.Port), TimeSpan.FromSeconds(10)));
        Assert.Null(await sluice.WaitForExitAsync(TimeSpan.FromSeconds(1)));

        var sw = Stopwatch.StartNew();
        Assert.True(await sluice.SignalAsync("TERM"));
        var exit = await sluice.WaitForExitAsync(ExitTimeout);
        _output.WriteLine(sluice.Output);
        Assert.True(exit is not null, "a second SIGTERM did not stop sluice:\n" + sluice.Output);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"second SIGTERM took {sw.Elapsed}");
        Assert.Equal(0, exit);
        Assert.False(File.Exists(sluice.PidFile));
        await Assert.ThrowsAnyAsync<Exception>(() => client.ScalarAsync<int>("SELECT 2"));
    }

    [Fact]
    public async Task Sigint_WaitsForTheRunningTransaction_ThenExits()
    {
        await using var sluice = await SluiceProcess.StartAsync(_fixture.Postgres);
        await using var client = new NpgsqlConnection(sluice.ConnectionString());
        await client.OpenAsync();
        await client.ExecAsync("BEGIN");
        var sleep = client.ExecAsync("SELECT pg_sleep(2)");
        await Task.Delay(300);

        Assert.True(await sluice.SignalAsync("INT"));
        Assert.True(await Ops.UntilAsync(() => Ops.IsRefusedAsync(sluice.Port), TimeSpan.FromSeconds(5)),
            "sluice still accepts TCP connections after SIGINT:\n" + sluice.Output);

        await sleep.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(sluice.Process.HasExited, "sluice exited under a running transaction:\n" + sluice.Output);
        Assert.Equal(3, await client.ScalarAsync<int>("SELECT 3"));
        await client.ExecAsync("COMMIT");

        var exit = await sluice.WaitForExitAsync(ExitTimeout);
        _output.WriteLine(sluice.Output);
        Assert.True(exit is not null, "sluice did not exit after the transaction ended:\n" + sluice.Output);
        Assert.Equal(0, exit);
        Assert.False(File.Exists(sluice.PidFile));
        Assert.Contains("SIGINT", sluice.Output);
    }

    [Fact]
    public async Task SecondSigint_ExitsAtOnce_EvenInsideATransaction()
    {
        await using var sluice = await SluiceProcess.StartAsync(_fixture.Postgres);
        await using var client = new NpgsqlConnection(sluice.ConnectionString());
        await client.OpenAsync();
        await client.ExecAsync("BEGIN");
        await client.ScalarAsync<int>("SELECT 1");

        Assert.True(await sluice.SignalAsync("INT"));
        Assert.Null(await sluice.WaitForExitAsync(TimeSpan.FromSeconds(1)));
        Assert.True(await sluice.SignalAsync("INT"));
        var exit = await sluice.WaitForExitAsync(ExitTimeout);
        Assert.True(exit is not null, "a second SIGINT did not stop sluice:\n" + sluice.Output);
        Assert.Equal(0, exit);
    }

    [Fact]
    public async Task Sigquit_ExitsAtOnce()
    {
        await using var sluice = await SluiceProcess.StartAsync(_fixture.Postgres);
        await using var client = new NpgsqlConnection(sluice.ConnectionString());
        await client.OpenAsync();
        await client.ExecAsync("BEGIN");
        await client.ScalarAsync<int>("SELECT 1");

        var sw = Stopwatch.StartNew();
        Assert.True(await sluice.SignalAsync("QUIT"));
        var exit = await sluice.WaitForExitAsync(ExitTimeout);
        _output.WriteLine(sluice.Output);
        Assert.True(exit is not null, "SIGQUIT did not stop sluice:\n" + sluice.Output);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"SIGQUIT took {sw.Elapsed}");
        Assert.Equal(0, exit);
        Assert.False(File.Exists(sluice.PidFile));
        await Assert.ThrowsAnyAsync<Exception>(() => client.ScalarAsync<int>("SELECT 2"));
    }

    [Fact]
    public async Task Sigusr1_Pauses_Sigusr2_Resumes()
    {
        await using var sluice = await SluiceProcess.StartAsync(_fixture.Postgres);
        await using var client = new NpgsqlConnection(sluice.ConnectionString());
        await client.OpenAsync();
        Assert.Equal(1, await client.ScalarAsync<int>("SELECT 1"));

        Assert.True(await sluice.SignalAsync("USR1"));
        await WaitForLogAsync(sluice, "SIGUSR1");
        await Task.Delay(300);
        var held = client.ScalarAsync<int>("SELECT 2");
        Assert.NotSame(held, await Task.WhenAny(held, Task.Delay(TimeSpan.FromSeconds(1.5))));
        var pools = await Ops.RowAsync(sluice.ConsoleAsync, "SHOW POOLS", "database", PostgresInstance.AppDatabase);
        Assert.Equal("1", pools["cl_waiting"]);

        Assert.True(await sluice.SignalAsync("USR2"));
        Assert.Equal(2, await held.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(3, await client.ScalarAsync<int>("SELECT 3"));
        Assert.Contains("SIGUSR2", sluice.Output);
        Assert.False(sluice.Process.HasExited);

        Assert.True(await sluice.SignalAsync("TERM"));
        await client.CloseAsync();
        Assert.Equal(0, await sluice.WaitForExitAsync(ExitTimeout));
    }

    [Fact]
    public async Task Sighup_ReloadsTheChangedIni()
    {
        await using var sluice = await SluiceProcess.StartAsync(_fixture.Postgres, ini => ini.Setting("default_pool_size", 3));
        Assert.Equal("3", await Ops.ConfigValueAsync(sluice.ConsoleAsync, "default_pool_size"));

        sluice.Ini.Setting("default_pool_size", 11).Setting("max_client_conn", 77)
            .Database("added", _fixture.Postgres.LibpqConnectString(PostgresInstance.AppDatabase));
        sluice.Dir.WriteIni("sluice.ini", sluice.Ini);
        Assert.True(await sluice.SignalAsync("HUP"));

        Assert.True(await Ops.UntilAsync(async () => await Ops.ConfigValueAsync(sluice.ConsoleAsync, "default_pool_size") == "11", TimeSpan.FromSeconds(10)),
            "SIGHUP did not reload default_pool_size:\n" + sluice.Output);
        Assert.Equal("77", await Ops.ConfigValueAsync(sluice.ConsoleAsync, "max_client_conn"));
        await using var added = new NpgsqlConnection(sluice.ConnectionString("added"));
        await added.OpenAsync();
        Assert.Equal(PostgresInstance.AppDatabase, await added.ScalarAsync<string>("SELECT current_database()"));

        // A broken file is reported and the running config stays.
        sluice.Dir.WriteFile("sluice.ini", "[pgbouncer]\ndefault_pool_size = lots\n");
        Assert.True(await sluice.SignalAsync("HUP"));
        await Task.Delay(500);
        Assert.False(sluice.Process.HasExited, "a broken ini on SIGHUP stopped sluice:\n" + sluice.Output);
        Assert.Equal("11", await Ops.ConfigValueAsync(sluice.ConsoleAsync, "default_pool_size"));
        Assert.Equal(1, await added.ScalarAsync<int>("SELECT 1"));
    }

    [Fact]
    public async Task Sighup_ReopensTheLogfile()
    {
        await using var sluice = await SluiceProcess.StartAsync(_fixture.Postgres, logfile: true);
        var log = sluice.Dir.File("sluice.log");
        Assert.True(await Ops.UntilAsync(() => File.Exists(log) && ReadShared(log).Contains("process up", StringComparison.Ordinal), TimeSpan.FromSeconds(10)),
            "no log file written:\n" + sluice.Output);

        // logrotate: move the file away, then SIGHUP.
        var rotated = log + ".1";
        File.Move(log, rotated);
        Assert.True(await sluice.SignalAsync("HUP"));
        Assert.True(await Ops.UntilAsync(() => File.Exists(log), TimeSpan.FromSeconds(10)), "SIGHUP did not reopen the log file");

        await using (var client = new NpgsqlConnection(sluice.ConnectionString()))
        {
            await client.OpenAsync();
            await client.ScalarAsync<int>("SELECT 1");
        }
        Assert.True(await Ops.UntilAsync(() => ReadShared(log).Contains("login attempt", StringComparison.Ordinal), TimeSpan.FromSeconds(10)),
            "the reopened log file gets no new lines:\n" + ReadShared(log));
        Assert.DoesNotContain("login attempt", ReadShared(rotated));
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \w+ \[\d+\] (LOG|WARNING|ERROR|DEBUG|FATAL) ", ReadShared(log));
    }

    [Fact]
    public async Task Pidfile_HoldsTheSluicePid_AndIsRemovedAtExit()
    {
        await using var sluice = await SluiceProcess.StartAsync(_fixture.Postgres);
        Assert.Equal(sluice.Pid.ToString(CultureInfo.InvariantCulture) + "\n", File.ReadAllText(sluice.PidFile));
        var cmdline = File.ReadAllText($"/proc/{sluice.Pid}/cmdline").Replace('\0', ' ');
        Assert.Contains("sluice", cmdline);
        Assert.Contains(sluice.IniPath, cmdline);
        if (UnprivilegedUser.Name is not null)
        {
            // Not the runuser wrapper: the process runs as the unprivileged user.
            var uid = File.ReadLines($"/proc/{sluice.Pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            Assert.DoesNotMatch(@"^Uid:\s+0\s", uid);
            Assert.NotEqual(sluice.Process.Pid, sluice.Pid);
        }

        // A second sluice with the same pidfile refuses to start while the first runs.
        var second = await ProcessRunner.RunAsync(SluiceProcess.Binary, [sluice.IniPath], TimeSpan.FromSeconds(30), runAsUser: UnprivilegedUser.Name);
        Assert.Equal(1, second.ExitCode);
        Assert.Contains("pidfile", second.StdErr);
        Assert.True(SluiceProcess.IsAlive(sluice.Pid));

        Assert.True(await sluice.SignalAsync("TERM"));
        Assert.Equal(0, await sluice.WaitForExitAsync(ExitTimeout));
        Assert.False(File.Exists(sluice.PidFile));
    }

    [Fact]
    public async Task Daemon_DetachesAndServes_AndASecondStartWithTheSamePidfileFails()
    {
        using var dir = TempDirectory.Create("sluice-daemon-");
        var port = TempFiles.GetFreeTcpPort();
        SluiceProcess.WriteIni(dir, _fixture.Postgres, port, ini => ini.Setting("logfile", dir.File("sluice.log")));
        var ini = dir.File("sluice.ini");
        var pidfile = dir.File("sluice.pid");
        int? daemonPid = null;
        try
        {
            var start = await ProcessRunner.RunAsync(SluiceProcess.Binary, ["-d", ini], TimeSpan.FromSeconds(30), runAsUser: UnprivilegedUser.Name);
            daemonPid = SluiceProcess.ReadPid(pidfile);
            Assert.True(start.Success, "sluice -d failed: " + start + "\n" + dir.ReadFileOrEmpty("sluice.log"));
            Assert.True(start.Elapsed < TimeSpan.FromSeconds(20));
            Assert.NotNull(daemonPid);
            Assert.True(SluiceProcess.IsAlive(daemonPid.Value), "the daemon is gone right after starting");

            // The foreground command returned; the daemon serves.
            await using (var client = new NpgsqlConnection(Ops.ConnectionString(port, PostgresInstance.AppDatabase)))
            {
                await client.OpenAsync();
                Assert.Equal(1, await client.ScalarAsync<int>("SELECT 1"));
            }
            // It is detached: its own session, not a child of anything the test still runs.
            var stat = File.ReadAllText($"/proc/{daemonPid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            Assert.Equal(daemonPid.Value.ToString(CultureInfo.InvariantCulture), fields[3]); // session id == pid (setsid)

            var second = await ProcessRunner.RunAsync(SluiceProcess.Binary, ["-d", ini], TimeSpan.FromSeconds(30), runAsUser: UnprivilegedUser.Name);
            Assert.Equal(1, second.ExitCode);
            Assert.Contains("pidfile", second.StdErr);
            var third = await ProcessRunner.RunAsync(SluiceProcess.Binary, [ini], TimeSpan.FromSeconds(30), runAsUser: UnprivilegedUser.Name);
            Assert.Equal(1, third.ExitCode);
            Assert.Equal(daemonPid, SluiceProcess.ReadPid(pidfile));
            Assert.True(SluiceProcess.IsAlive(daemonPid.Value));

            Assert.True(await ProcessRunner.SignalAsync(daemonPid.Value, "TERM"));
            Assert.True(await Ops.UntilAsync(() => !SluiceProcess.IsAlive(daemonPid.Value), TimeSpan.FromSeconds(15)), "the daemon ignored SIGTERM");
            Assert.True(await Ops.UntilAsync(() => !File.Exists(pidfile), TimeSpan.FromSeconds(5)), "the daemon left its pidfile");
            Assert.Contains("shutdown complete", dir.ReadFileOrEmpty("sluice.log"));
        }
        finally
        {
            if (daemonPid is { } pid && SluiceProcess.IsAlive(pid))
            {
                await ProcessRunner.SignalAsync(pid, "KILL");
            }
        }
    }

    [Fact]
    public async Task Daemon_WithoutPidfile_IsRefused()
    {
        using var dir = TempDirectory.Create("sluice-daemon-");
        SluiceProcess.WriteIni(dir, _fixture.Postgres, TempFiles.GetFreeTcpPort(), ini => ini.Remove("pgbouncer", "pidfile"));

        var r = await ProcessRunner.RunAsync(SluiceProcess.Binary, ["-d", dir.File("sluice.ini")], TimeSpan.FromSeconds(30), runAsUser: UnprivilegedUser.Name);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("daemon needs pidfile configured", r.StdErr);
    }

    [Fact]
    public async Task JsonLogFormat_WritesOneJsonObjectPerLineOnStderr()
    {
        await using var sluice = await SluiceProcess.StartAsync(_fixture.Postgres, ini => ini.Setting("log_format", "json"));
        await using (var client = new NpgsqlConnection(sluice.ConnectionString()))
        {
            await client.OpenAsync();
            await client.ScalarAsync<int>("SELECT 1");
        }
        Assert.True(await sluice.SignalAsync("TERM"));
        Assert.Equal(0, await sluice.WaitForExitAsync(ExitTimeout));

        var lines = sluice.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        var messages = new List<string>();
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            Assert.Equal(JsonValueKind.Object, root.ValueKind);
            Assert.True(DateTimeOffset.TryParse(root.GetProperty("time").GetString(), CultureInfo.InvariantCulture, out _), line);
            Assert.Equal(sluice.Pid, root.GetProperty("pid").GetInt32());
            Assert.Contains(root.GetProperty("level").GetString(), new[] { "LOG", "WARNING", "ERROR", "DEBUG", "FATAL", "NOISE" });
            messages.Add(root.GetProperty("message").GetString()!);
        }
        Assert.Contains(messages, m => m.StartsWith("process up", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("login attempt", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("SIGTERM", StringComparison.Ordinal));
    }

    private static async Task WaitForLogAsync(SluiceProcess sluice, string text)
    {
        Assert.True(await Ops.UntilAsync(() => sluice.Output.Contains(text, StringComparison.Ordinal), TimeSpan.FromSeconds(10)),
            $"sluice never logged '{text}':\n" + sluice.Output);
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
