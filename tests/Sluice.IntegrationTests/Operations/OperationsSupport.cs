using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Sluice.Testing;
using Sluice.Testing.Admin;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Operations;

/// <summary>Users every operations host knows: the console admin and the fixture's app role.</summary>
internal static class OpsUsers
{
    public const string Admin = TestUsers.Admin;
    public const string AdminPassword = TestUsers.AdminPassword;
    public const string App = PostgresInstance.AppUser;
    public const string AppPassword = PostgresInstance.AppPassword;

    public static (string User, string Secret)[] AuthFile(IEnumerable<(string User, string Secret)>? extra) =>
        [(Admin, AdminPassword), (App, AppPassword), .. extra ?? []];

    /// <summary>The [pgbouncer] settings of the published binary (TestPooler.StartOperationsAsync sets the same in process).</summary>
    public static IniBuilder BaseIni(string authFile, int port) => new IniBuilder()
        .Setting("listen_addr", "127.0.0.1")
        .Setting("listen_port", port)
        .Setting("unix_socket_dir", "")
        .Setting("auth_type", "md5")
        .Setting("auth_file", authFile)
        .Setting("admin_users", Admin)
        .Setting("stats_users", Admin)
        .Setting("pool_mode", "transaction")
        .Setting("default_pool_size", 5)
        .Setting("max_client_conn", 200);
}

/// <summary>A fresh database owned by app, filled by <c>pgbench -i -s 1</c> directly against PostgreSQL; dropped on dispose.</summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private readonly PostgresInstance _postgres;

    private BenchDatabase(PostgresInstance postgres, string name)
    {
        _postgres = postgres;
        Name = name;
    }

    public string Name { get; }

    public static async Task<BenchDatabase> CreateAsync(PostgresInstance postgres, bool initialize = true)
    {
        var name = "bench_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        await postgres.ExecuteAsync($"CREATE DATABASE {name} OWNER {PostgresInstance.AppUser}");
        var db = new BenchDatabase(postgres, name);
        if (initialize)
        {
            var r = await ProcessRunner.RunAsync("pgbench",
                ["-i", "-s", "1", "-q", "-h", postgres.SocketDir, "-p", postgres.Port.ToString(CultureInfo.InvariantCulture), "-U", PostgresInstance.AppUser, name],
                TimeSpan.FromSeconds(120));
            r.EnsureSuccess("pgbench -i -s 1");
        }
        return db;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _postgres.ExecuteAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException)
        {
            // best effort: the cluster is throwaway
        }
    }
}

/// <summary>The parts of pgbench's report the tests look at.</summary>
internal sealed record PgbenchReport(ProcessResult Result)
{
    public long? Processed => Number(@"number of transactions actually processed: (\d+)");

    public long? Failed => Number(@"number of failed transactions: (\d+)");

    public bool AnyClientAborted => Result.StdErr.Contains("aborted", StringComparison.Ordinal) || Result.StdOut.Contains("aborted in command", StringComparison.Ordinal);

    private long? Number(string pattern)
    {
        var m = Regex.Match(Result.StdOut, pattern);
        return m.Success ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>Exit 0, a "failed transactions: 0" line, no aborted client, some transactions done.</summary>
    public void AssertClean()
    {
        Assert.True(Result.Success, "pgbench did not succeed: " + Result);
        Assert.True(Failed == 0, "pgbench reports failed transactions: " + Result);
        Assert.False(AnyClientAborted, "a pgbench client aborted: " + Result);
        Assert.True(Processed > 0, "pgbench processed no transaction: " + Result);
    }
}

/// <summary>Small helpers shared by the operations tests.</summary>
internal static class Ops
{
    public static string ConnectionString(int port, string database, string user = OpsUsers.App, string password = OpsUsers.AppPassword, string? extra = null) =>
        $"Host=127.0.0.1;Port={port.ToString(CultureInfo.InvariantCulture)};Username={user};Password={password};Database={database};" +
        "Pooling=false;Timeout=15;Command Timeout=60;Include Error Detail=true" + (extra is null ? "" : ";" + extra);

    public static async Task<ProcessResult> PgbenchAsync(int port, string database, IEnumerable<string> args, TimeSpan timeout)
    {
        List<string> all = ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", OpsUsers.App, .. args, database];
        return await ProcessRunner.RunAsync("pgbench", all, timeout,
            env: new Dictionary<string, string> { ["PGPASSWORD"] = OpsUsers.AppPassword, ["PGSSLMODE"] = "disable", ["PGCONNECT_TIMEOUT"] = "10" });
    }

    /// <summary>Polls <paramref name="condition"/> every 50 ms; false on timeout.</summary>
    public static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (await condition())
            {
                return true;
            }
            if (sw.Elapsed > timeout)
            {
                return false;
            }
            await Task.Delay(50);
        }
    }

    public static Task<bool> UntilAsync(Func<bool> condition, TimeSpan timeout) => UntilAsync(() => Task.FromResult(condition()), timeout);

    /// <summary>One console row of <paramref name="show"/> whose <paramref name="keyColumn"/> is <paramref name="key"/>.</summary>
    public static async Task<Dictionary<string, string>> RowAsync(Func<string, Task<PsqlResult>> console, string show, string keyColumn, string key)
    {
        var r = await console(show);
        Assert.True(r.Success, r.ToString());
        var row = r.Records().FirstOrDefault(x => x.GetValueOrDefault(keyColumn) == key);
        Assert.True(row is not null, $"{show}: no row with {keyColumn}={key}\n{r}");
        return row!;
    }

    /// <summary>SHOW CONFIG value of one key.</summary>
    public static async Task<string> ConfigValueAsync(Func<string, Task<PsqlResult>> console, string key) =>
        (await RowAsync(console, "SHOW CONFIG", "key", key))["value"];

    /// <summary>True when a TCP connect to 127.0.0.1:port is refused (nobody listens).</summary>
    public static async Task<bool> IsRefusedAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>GET over a fresh connection; (status, body).</summary>
    public static async Task<(int Status, string Body)> HttpGetAsync(EndPoint endpoint, string path)
    {
        var ip = (IPEndPoint)endpoint;
        var host = ip.Address.Equals(IPAddress.Any) ? "127.0.0.1" : ip.Address.ToString();
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await client.GetAsync(new Uri($"http://{host}:{ip.Port.ToString(CultureInfo.InvariantCulture)}{path}"));
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Prometheus text exposition: "name{labels}" (labels as written) → value; comments skipped.</summary>
    public static Dictionary<string, double> ParsePrometheus(string text)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var space = line.LastIndexOf(' ');
            result[line[..space]] = double.Parse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return result;
    }

    public static long Long(this Dictionary<string, string> row, string column) => long.Parse(row[column], CultureInfo.InvariantCulture);
}

/// <summary>
/// The published sluice binary run as the unprivileged user, with a pidfile so signals reach sluice itself
/// rather than the runuser wrapper (which would turn SIGTERM into SIGKILL after a grace period).
/// </summary>
internal sealed class SluiceProcess : IAsyncDisposable
{
    private int _disposed;

    private SluiceProcess(TempDirectory dir, IniBuilder ini, int port, BackgroundProcess process, int pid)
    {
        Dir = dir;
        Ini = ini;
        Port = port;
        Process = process;
        Pid = pid;
    }

    public TempDirectory Dir { get; }

    public IniBuilder Ini { get; }

    public int Port { get; }

    public BackgroundProcess Process { get; }

    /// <summary>The pid of sluice itself, read from its pidfile.</summary>
    public int Pid { get; }

    public string IniPath => Dir.File("sluice.ini");

    public string PidFile => Dir.File("sluice.pid");

    public string Output => Process.Output;

    public static string Binary => SluiceBinary.LocateForUnprivilegedUser();

    /// <summary>Writes dir/sluice.ini (pidfile = dir/sluice.pid) for <paramref name="port"/>.</summary>
    public static IniBuilder WriteIni(TempDirectory dir, PostgresInstance postgres, int port, Action<IniBuilder>? configure)
    {
        var authFile = dir.WriteUserList("userlist.txt", OpsUsers.AuthFile(null));
        var ini = OpsUsers.BaseIni(authFile, port)
            .Setting("pidfile", dir.File("sluice.pid"))
            .Database(PostgresInstance.AppDatabase, postgres.LibpqConnectString(PostgresInstance.AppDatabase));
        configure?.Invoke(ini);
        dir.WriteIni("sluice.ini", ini);
        return ini;
    }

    /// <summary>Starts sluice (extra command-line flags before the ini) and waits until it wrote its pidfile and listens.</summary>
    public static async Task<SluiceProcess> StartAsync(PostgresInstance postgres, Action<IniBuilder>? configure = null, IReadOnlyList<string>? flags = null, bool logfile = false)
    {
        var dir = TempDirectory.Create("sluice-sig-");
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var port = TempFiles.GetFreeTcpPort();
                var ini = WriteIni(dir, postgres, port, b =>
                {
                    if (logfile)
                    {
                        b.Setting("logfile", dir.File("sluice.log"));
                    }
                    configure?.Invoke(b);
                });
                var process = ProcessRunner.StartBackground(Binary, [.. flags ?? [], dir.File("sluice.ini")], runAsUser: UnprivilegedUser.Name);
                var pid = await WaitForPidFileAsync(dir.File("sluice.pid"), process, TimeSpan.FromSeconds(30));
                if (pid is null)
                {
                    await process.WaitForExitAsync(TimeSpan.FromSeconds(5));
                    var output = process.Output;
                    await process.DisposeAsync();
                    if (attempt < 3 && output.Contains("listen", StringComparison.OrdinalIgnoreCase))
                    {
                        continue; // the free port was taken meanwhile
                    }
                    throw new InvalidOperationException($"sluice did not start (exit {process.ExitCode}):\n{output}");
                }
                var started = new SluiceProcess(dir, ini, port, process, pid.Value);
                if (!await Ops.UntilAsync(async () => !await Ops.IsRefusedAsync(port), TimeSpan.FromSeconds(10)))
                {
                    await started.DisposeAsync();
                    throw new InvalidOperationException("sluice wrote its pidfile but does not listen:\n" + process.Output);
                }
                return started;
            }
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    private static async Task<int?> WaitForPidFileAsync(string path, BackgroundProcess process, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (ReadPid(path) is { } pid)
            {
                return pid;
            }
            if (process.HasExited)
            {
                return null;
            }
            await Task.Delay(25);
        }
        return null;
    }

    public static int? ReadPid(string path)
    {
        try
        {
            return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) && pid > 0
                ? pid
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static bool IsAlive(int pid) => Directory.Exists("/proc/" + pid.ToString(CultureInfo.InvariantCulture));

    public Task<bool> SignalAsync(string signal) => ProcessRunner.SignalAsync(Pid, signal);

    /// <summary>Waits for sluice (through its runuser wrapper) to exit; its exit code, or null on timeout.</summary>
    public Task<int?> WaitForExitAsync(TimeSpan timeout) => Process.WaitForExitAsync(timeout);

    public Task<PsqlResult> ConsoleAsync(string command) => Psql.RunAsync(Port, command, OpsUsers.Admin, OpsUsers.AdminPassword);

    public string ConnectionString(string database = PostgresInstance.AppDatabase, string? extra = null) => Ops.ConnectionString(Port, database, extra: extra);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (IsAlive(Pid))
        {
            await ProcessRunner.SignalAsync(Pid, "KILL");
        }
        await Process.DisposeAsync();
        Dir.Dispose();
    }
}
