using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;

namespace Sluice.IntegrationTests.Cli;

/// <summary>The published sluice executable, started as the unprivileged user.</summary>
[Collection(PostgresCollection.Name)]
public sealed class CommandLineTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private PostgresInstance Pg => fixture.Postgres;

    private static Task<ProcessResult> RunAsync(string bin, params string[] args) =>
        ProcessRunner.RunAsync(bin, args, s_timeout, runAsUser: UnprivilegedUser.Name);

    [Fact]
    public async Task Version_PrintsVersion_ExitsZero()
    {
        using var dir = TempDirectory.Create();
        var bin = await SluiceProcess.LocateAsync(dir);
        foreach (var flag in new[] { "-V", "--version" })
        {
            var r = await RunAsync(bin, flag);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Matches(@"\d+\.\d+", r.StdOut);
            Assert.Contains("Sluice", r.StdOut, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Help_ExitsZero()
    {
        using var dir = TempDirectory.Create();
        var bin = await SluiceProcess.LocateAsync(dir);
        var r = await RunAsync(bin, "-h");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("-V", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoConfigFile_ExitsOne_WithMessage()
    {
        using var dir = TempDirectory.Create();
        var bin = await SluiceProcess.LocateAsync(dir);
        var r = await RunAsync(bin);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("no configuration file specified", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownKey_ExitsNonZero_NamingFileLineAndKey()
    {
        using var dir = TempDirectory.Create();
        var bin = await SluiceProcess.LocateAsync(dir);
        var ini = dir.WriteFile("bad.ini", "[pgbouncer]\nlisten_addr = 127.0.0.1\nno_such_setting_xyz = 1\n\n[databases]\n");
        var r = await RunAsync(bin, ini);
        Assert.True(r.ExitCode != 0 && !r.TimedOut, r.ToString());
        Assert.Contains(ini, r.StdErr, StringComparison.Ordinal);
        Assert.Contains(":3", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("no_such_setting_xyz", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GoodConfig_Starts_ServesQueries_AndExitsOnSigterm()
    {
        using var dir = TempDirectory.Create();
        var bin = await SluiceProcess.LocateAsync(dir);
        var port = TempFiles.GetFreeTcpPort();
        var portText = port.ToString(CultureInfo.InvariantCulture);
        var authFile = dir.WriteUserList("userlist.txt", (PostgresInstance.AppUser, PostgresInstance.AppPassword));
        var ini = dir.WriteIni("sluice.ini", new IniBuilder()
            .Setting("listen_addr", "127.0.0.1")
            .Setting("listen_port", port)
            .Setting("unix_socket_dir", dir.Path)
            .Setting("auth_type", "md5")
            .Setting("auth_file", authFile)
            .Setting("pool_mode", "transaction")
            .Database(PostgresInstance.AppDatabase, Pg.LibpqConnectString(PostgresInstance.AppDatabase)));

        await using var proc = ProcessRunner.StartBackground(bin, [ini], runAsUser: UnprivilegedUser.Name);
        var pgIsReady = Path.Combine(Pg.BinDir, "pg_isready");
        var sw = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(proc.HasExited, $"sluice exited early ({proc.ExitCode}):\n{proc.Output}");
            var ready = await ProcessRunner.RunAsync(pgIsReady, ["-h", "127.0.0.1", "-p", portText, "-t", "2"], TimeSpan.FromSeconds(10));
            if (ready.ExitCode == 0)
            {
                break;
            }
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"sluice not ready after 20 s:\n{ready}\n{proc.Output}");
            await Task.Delay(100);
        }
        var unixReady = await ProcessRunner.RunAsync(pgIsReady, ["-h", dir.Path, "-p", portText, "-t", "5"], TimeSpan.FromSeconds(10));
        Assert.True(unixReady.ExitCode == 0, unixReady + "\n" + proc.Output);

        var cs = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = port, Username = PostgresInstance.AppUser, Password = PostgresInstance.AppPassword,
            Database = PostgresInstance.AppDatabase, Pooling = false, Timeout = 15,
        }.ConnectionString;
        await using (var conn = new NpgsqlConnection(cs))
        {
            await conn.OpenAsync();
            Assert.Equal(42, await conn.ScalarAsync<int>("SELECT $1::int", 42));
        }

        // Signal sluice itself: runuser, when signalled, exits with 128+signal whatever its child returns.
        var pid = SluiceProcess.MainPid(proc);
        Assert.True(await ProcessRunner.SignalAsync(pid, "TERM"));
        var exit = await proc.WaitForExitAsync(TimeSpan.FromSeconds(15));
        output.WriteLine(proc.Output);
        Assert.True(exit is not null, $"sluice did not exit within 15 s of SIGTERM:\n{proc.Output}");
        Assert.Equal(0, exit);
        Assert.False(File.Exists(dir.File($".s.PGSQL.{port}")), "the Unix socket file was left behind");
    }
}
