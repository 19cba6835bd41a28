using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Sluice.Testing;

/// <summary>Options for <see cref="PostgresInstance.StartAsync"/>.</summary>
public sealed class PostgresOptions
{
    /// <summary>Extra lines appended verbatim to postgresql.conf (after the defaults, so they override them).</summary>
    public IList<string> ExtraConfig { get; } = new List<string>();

    /// <summary>Extra pg_hba.conf lines, appended after the defaults (e.g. <c>host replication postgres 127.0.0.1/32 trust</c>).</summary>
    public IList<string> ExtraHba { get; } = new List<string>();

    /// <summary>max_connections (default 300).</summary>
    public int MaxConnections { get; set; } = 300;

    /// <summary>Explicit PostgreSQL bin directory; default: env SLUICE_PG_BINDIR, pg_config --bindir, newest /usr/lib/postgresql/*/bin.</summary>
    public string? BinDir { get; set; }

    /// <summary>Timeout for the server to become ready (default 30 s).</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// A throwaway PostgreSQL cluster (initdb + pg_ctl) in a temp dir under /tmp, listening on 127.0.0.1:&lt;free port&gt;
/// and on a Unix socket in <see cref="SocketDir"/>. When running as root, the server runs as the <c>postgres</c> OS user.
/// Roles: postgres (superuser, trust), scramuser/scrampass (SCRAM), md5user/md5pass (md5-hashed, md5 hba),
/// app/apppass (SCRAM, owner of database appdb).
/// </summary>
public sealed class PostgresInstance : IAsyncDisposable
{
    public const string ScramUser = "scramuser";
    public const string ScramPassword = "scrampass";
    public const string Md5User = "md5user";
    public const string Md5Password = "md5pass";
    public const string AppUser = "app";
    public const string AppPassword = "apppass";
    public const string AppDatabase = "appdb";

    private const string TempDirPrefix = "sluice-pg-";
    private const string OwnerFileName = "owner.pid";
    private static readonly TimeSpan s_cmdTimeout = TimeSpan.FromSeconds(60);
    private int _disposed;

    private PostgresInstance(string rootDir, string binDir, int port)
    {
        RootDir = rootDir;
        BinDir = binDir;
        Port = port;
    }

    /// <summary>Always "127.0.0.1".</summary>
    public string Host => "127.0.0.1";

    public int Port { get; private set; }

    /// <summary>Temp root directory (contains data/, the log file and the Unix socket).</summary>
    public string RootDir { get; }

    /// <summary>Directory holding the server's Unix socket (.s.PGSQL.&lt;port&gt;); equals <see cref="RootDir"/>.</summary>
    public string SocketDir => RootDir;

    public string DataDir => Path.Combine(RootDir, "data");

    public string BinDir { get; }

    public string LogFile => Path.Combine(RootDir, "postgres.log");

    /// <summary>Time StartAsync took (initdb + start + role setup).</summary>
    public TimeSpan StartupTime { get; private set; }

    /// <summary>Npgsql connection string over TCP to 127.0.0.1:<see cref="Port"/> with Pooling=false.</summary>
    public string ConnectionString(string user = "postgres", string? password = null, string database = "postgres")
    {
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Username = user,
            Database = database,
            Pooling = false,
            Timeout = 15,
            CommandTimeout = 60,
        };
        if (password is not null)
        {
            b.Password = password;
        }
        return b.ConnectionString;
    }

    /// <summary>Npgsql connection string over the Unix socket (trust auth for everyone), Pooling=false.</summary>
    public string SocketConnectionString(string user = "postgres", string database = "postgres")
        => new NpgsqlConnectionStringBuilder
        {
            Host = SocketDir,
            Port = Port,
            Username = user,
            Database = database,
            Pooling = false,
            Timeout = 15,
            CommandTimeout = 60,
        }.ConnectionString;

    /// <summary>libpq-style connect string for pgbouncer/sluice [databases] entries, e.g. "host=127.0.0.1 port=5432 dbname=appdb".</summary>
    public string LibpqConnectString(string database = "postgres", string? extra = null)
        => $"host={Host} port={Port.ToString(CultureInfo.InvariantCulture)} dbname={database}" + (extra is null ? "" : " " + extra);

    /// <summary>Starts a new cluster. Throws with the server log tail on failure.</summary>
    public static async Task<PostgresInstance> StartAsync(PostgresOptions? options = null)
    {
        options ??= new PostgresOptions();
        var sw = Stopwatch.StartNew();
        var binDir = await FindBinDirAsync(options.BinDir).ConfigureAwait(false);
        await CleanupStaleClustersAsync(binDir).ConfigureAwait(false);
        var root = TempFiles.CreateTempDir(TempDirPrefix);
        File.WriteAllText(Path.Combine(root, OwnerFileName), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var instance = new PostgresInstance(root, binDir, 0);
        try
        {
            await UnprivilegedUser.ChownAsync(root).ConfigureAwait(false);
            await instance.RunPgToolAsync("initdb", new[]
            {
                "-D", instance.DataDir, "--auth=trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C", "--no-instructions",
            }).ConfigureAwait(false);

            File.WriteAllText(Path.Combine(instance.DataDir, "pg_hba.conf"),
                "local all all trust\n" +
                "host all postgres 127.0.0.1/32 trust\n" +
                "host all md5user 127.0.0.1/32 md5\n" +
                "host all all 127.0.0.1/32 scram-sha-256\n" +
                string.Concat(options.ExtraHba.Select(line => line + "\n")));

            Exception? last = null;
            for (int attempt = 0; attempt < 5; attempt++)
            {
                instance.Port = TempFiles.GetFreeTcpPort();
                instance.WriteConfig(options);
                var outcome = await instance.TryStartServerAsync(options.StartTimeout).ConfigureAwait(false);
                if (outcome is null)
                {
                    last = null;
                    break;
                }
                last = outcome;
                if (!instance.LogTail(50).Contains("could not bind", StringComparison.OrdinalIgnoreCase)
                    && !instance.LogTail(50).Contains("Address already in use", StringComparison.OrdinalIgnoreCase))
                {
                    break; // not a port conflict: don't retry
                }
                await instance.StopServerAsync().ConfigureAwait(false);
            }
            if (last is not null)
            {
                throw last;
            }

            await instance.CreateRolesAsync().ConfigureAwait(false);
            instance.StartupTime = sw.Elapsed;
            AppDomain.CurrentDomain.ProcessExit += instance.OnProcessExit;
            return instance;
        }
        catch
        {
            await instance.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private void WriteConfig(PostgresOptions options)
    {
        var conf = Path.Combine(DataDir, "postgresql.conf");
        const string marker = "# ---- sluice test settings ----";
        var existing = File.ReadAllText(conf);
        var idx = existing.IndexOf(marker, StringComparison.Ordinal);
        if (idx >= 0)
        {
            existing = existing[..idx];
        }
        var sb = new StringBuilder(existing);
        sb.Append('\n').Append(marker).Append('\n');
        sb.Append("listen_addresses = '127.0.0.1'\n");
        sb.Append("port = ").Append(Port.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("unix_socket_directories = '").Append(SocketDir).Append("'\n");
        sb.Append("max_connections = ").Append(options.MaxConnections.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("fsync = off\n");
        sb.Append("synchronous_commit = off\n");
        sb.Append("full_page_writes = off\n");
        sb.Append("shared_buffers = 64MB\n");
        sb.Append("password_encryption = 'scram-sha-256'\n");
        sb.Append("wal_level = minimal\n");
        sb.Append("max_wal_senders = 0\n");
        sb.Append("logging_collector = off\n"); // pg_ctl -l redirects stderr to LogFile
        sb.Append("log_line_prefix = '%m [%p] %q%u@%d '\n");
        sb.Append("log_min_messages = warning\n");
        sb.Append("lc_messages = 'C'\n");
        foreach (var line in options.ExtraConfig)
        {
            sb.Append(line).Append('\n');
        }
        File.WriteAllText(conf, sb.ToString());
    }

    /// <summary>Starts the server and waits with pg_isready. Returns null on success, else an exception to throw.</summary>
    private async Task<Exception?> TryStartServerAsync(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        var start = await RunPgToolAsync("pg_ctl", new[] { "start", "-W", "-D", DataDir, "-l", LogFile, "-s" }, check: false).ConfigureAwait(false);
        if (!start.Success)
        {
            return new InvalidOperationException($"pg_ctl start failed: {start}\n--- server log tail ---\n{LogTail(40)}");
        }
        var pidFile = Path.Combine(DataDir, "postmaster.pid");
        bool sawPidFile = false;
        while (true)
        {
            var ready = await ProcessRunner.RunAsync(Path.Combine(BinDir, "pg_isready"),
                new[] { "-h", Host, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", "postgres", "-t", "2" },
                TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            if (ready.ExitCode == 0)
            {
                return null;
            }
            bool pidExists = File.Exists(pidFile);
            sawPidFile |= pidExists;
            if (!pidExists && (sawPidFile || sw.Elapsed > TimeSpan.FromSeconds(5)))
            {
                return new InvalidOperationException(
                    $"PostgreSQL exited during startup (port {Port}).\n--- server log tail ({LogFile}) ---\n{LogTail(40)}");
            }
            if (sw.Elapsed > timeout)
            {
                return new TimeoutException(
                    $"PostgreSQL not ready after {timeout.TotalSeconds:F0}s (port {Port}); last pg_isready: {ready}\n--- server log tail ({LogFile}) ---\n{LogTail(40)}");
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    private async Task CreateRolesAsync()
    {
        await using var conn = new NpgsqlConnection(SocketConnectionString());
        await conn.OpenAsync().ConfigureAwait(false);
        foreach (var sql in new[]
        {
            "SET password_encryption = 'scram-sha-256'",
            $"CREATE ROLE {ScramUser} LOGIN PASSWORD '{ScramPassword}'",
            $"CREATE ROLE {AppUser} LOGIN PASSWORD '{AppPassword}'",
            "SET password_encryption = 'md5'",
            $"CREATE ROLE {Md5User} LOGIN PASSWORD '{Md5Password}'",
            "RESET password_encryption",
            $"CREATE DATABASE {AppDatabase} OWNER {AppUser}",
            $"GRANT ALL ON DATABASE {AppDatabase} TO {ScramUser}, {Md5User}",
            $"GRANT pg_read_all_stats, pg_signal_backend TO {ScramUser}, {Md5User}, {AppUser}",
            "GRANT CREATE ON SCHEMA public TO PUBLIC",
        })
        {
            await using var cmd = new NpgsqlCommand(sql, conn);
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        await using var appConn = new NpgsqlConnection(SocketConnectionString("postgres", AppDatabase));
        await appConn.OpenAsync().ConfigureAwait(false);
        await using (var cmd = new NpgsqlCommand("GRANT ALL ON SCHEMA public TO PUBLIC", appConn))
        {
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Runs SQL as postgres (superuser) over the Unix socket. Multiple statements run in one implicit transaction.</summary>
    public async Task ExecuteAsync(string sql, string database = "postgres")
    {
        await using var conn = new NpgsqlConnection(SocketConnectionString("postgres", database));
        await conn.OpenAsync().ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <summary>Runs a scalar query as postgres over the Unix socket.</summary>
    public async Task<T?> ScalarAsync<T>(string sql, string database = "postgres")
    {
        await using var conn = new NpgsqlConnection(SocketConnectionString("postgres", database));
        await conn.OpenAsync().ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand(sql, conn);
        var v = await cmd.ExecuteScalarAsync().ConfigureAwait(false);
        return v is null or DBNull ? default : (T)v;
    }

    /// <summary>rolpassword of <paramref name="role"/> from pg_authid (e.g. "SCRAM-SHA-256$4096:..." or "md5..."); null if none.</summary>
    public async Task<string?> GetScramSecretAsync(string role)
    {
        await using var conn = new NpgsqlConnection(SocketConnectionString());
        await conn.OpenAsync().ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand("SELECT rolpassword FROM pg_authid WHERE rolname = $1", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = role, NpgsqlDbType = NpgsqlDbType.Text });
        var v = await cmd.ExecuteScalarAsync().ConfigureAwait(false);
        return v as string;
    }

    /// <summary>
    /// Number of client backends in pg_stat_activity (excluding the querying connection), optionally filtered by
    /// user and/or database.
    /// </summary>
    public async Task<long> CountBackendsAsync(string? user = null, string? database = null)
    {
        await using var conn = new NpgsqlConnection(SocketConnectionString());
        await conn.OpenAsync().ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() " +
            "AND ($1::text IS NULL OR usename = $1) AND ($2::text IS NULL OR datname = $2)", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)user ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)database ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        return (long)(await cmd.ExecuteScalarAsync().ConfigureAwait(false))!;
    }

    /// <summary>Polls <see cref="CountBackendsAsync"/> until <paramref name="condition"/> holds; returns the last count. Throws on timeout.</summary>
    public async Task<long> WaitForBackendsAsync(Func<long, bool> condition, TimeSpan timeout, string? user = null, string? database = null)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var n = await CountBackendsAsync(user, database).ConfigureAwait(false);
            if (condition(n))
            {
                return n;
            }
            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"Backend count condition not met within {timeout} (last count {n}, user={user ?? "*"}, db={database ?? "*"}).");
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    /// <summary>pg_terminate_backend() on matching client backends (excluding our own); returns how many were signalled.</summary>
    public async Task<long> TerminateBackendsAsync(string? user = null, string? database = null)
    {
        await using var conn = new NpgsqlConnection(SocketConnectionString());
        await conn.OpenAsync().ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() " +
            "AND ($1::text IS NULL OR usename = $1) AND ($2::text IS NULL OR datname = $2)", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)user ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)database ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        return (long)(await cmd.ExecuteScalarAsync().ConfigureAwait(false))!;
    }

    /// <summary>Last <paramref name="lines"/> lines of the server log (empty if unreadable).</summary>
    public string LogTail(int lines = 40)
    {
        try
        {
            if (!File.Exists(LogFile))
            {
                return "(no log file)";
            }
            using var fs = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(fs);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines - 1)));
        }
        catch (IOException ex)
        {
            return $"(cannot read log: {ex.Message})";
        }
    }

    /// <summary>Runs a PostgreSQL program from <see cref="BinDir"/> as the unprivileged user when root.</summary>
    public Task<ProcessResult> RunPgToolAsync(string tool, IEnumerable<string> args, bool check = true)
        => RunPgToolCoreAsync(Path.Combine(BinDir, tool), args, check);

    private static async Task<ProcessResult> RunPgToolCoreAsync(string path, IEnumerable<string> args, bool check)
    {
        var r = await ProcessRunner.RunAsync(path, args, s_cmdTimeout, runAsUser: UnprivilegedUser.Name, workingDirectory: "/tmp").ConfigureAwait(false);
        return check ? r.EnsureSuccess(Path.GetFileName(path)) : r;
    }

    private async Task StopServerAsync()
    {
        if (File.Exists(Path.Combine(DataDir, "postmaster.pid")))
        {
            await RunPgToolAsync("pg_ctl", new[] { "stop", "-D", DataDir, "-m", "immediate", "-w", "-t", "30", "-s" }, check: false).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stops and deletes clusters left in /tmp/sluice-pg-* by test processes that died without disposing them
    /// (e.g. a crashed test host). Only touches dirs whose owner.pid names a process that no longer exists.
    /// </summary>
    private static async Task CleanupStaleClustersAsync(string binDir)
    {
        string[] dirs;
        try { dirs = Directory.GetDirectories("/tmp", TempDirPrefix + "*"); }
        catch (IOException) { return; }
        foreach (var dir in dirs)
        {
            try
            {
                var ownerFile = Path.Combine(dir, OwnerFileName);
                if (!File.Exists(ownerFile)
                    || !int.TryParse(File.ReadAllText(ownerFile).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid)
                    || Directory.Exists("/proc/" + pid.ToString(CultureInfo.InvariantCulture)))
                {
                    continue;
                }
                var dataDir = Path.Combine(dir, "data");
                if (File.Exists(Path.Combine(dataDir, "postmaster.pid")))
                {
                    await RunPgToolCoreAsync(Path.Combine(binDir, "pg_ctl"), new[] { "stop", "-D", dataDir, "-m", "immediate", "-w", "-t", "30", "-s" }, check: false)
                        .ConfigureAwait(false);
                }
                TempFiles.TryDeleteDirectory(dir);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                // best effort
            }
        }
    }

    private void OnProcessExit(object? sender, EventArgs e)
    {
        // Safety net if the fixture is never disposed (e.g. test host aborted gracefully).
        try { DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(20)); }
        catch (AggregateException) { }
    }

    /// <summary>Stops the server (pg_ctl stop -m immediate) and deletes the temp dir.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        try
        {
            await StopServerAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
        }
        TempFiles.TryDeleteDirectory(RootDir);
    }

    /// <summary>
    /// Resolves the PostgreSQL bin directory: explicit value, env SLUICE_PG_BINDIR, <c>pg_config --bindir</c>,
    /// then the newest /usr/lib/postgresql/*/bin. The directory must contain initdb.
    /// </summary>
    public static async Task<string> FindBinDirAsync(string? explicitBinDir = null)
    {
        static bool Valid(string? d) => !string.IsNullOrWhiteSpace(d) && File.Exists(Path.Combine(d, "initdb"));

        if (Valid(explicitBinDir))
        {
            return explicitBinDir!;
        }
        var env = Environment.GetEnvironmentVariable("SLUICE_PG_BINDIR");
        if (Valid(env))
        {
            return env!;
        }
        try
        {
            var r = await ProcessRunner.RunAsync("pg_config", new[] { "--bindir" }, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            var d = r.StdOut.Trim();
            if (r.Success && Valid(d))
            {
                return d;
            }
        }
        catch (InvalidOperationException)
        {
            // pg_config not installed
        }
        const string baseDir = "/usr/lib/postgresql";
        if (Directory.Exists(baseDir))
        {
            var best = Directory.GetDirectories(baseDir)
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: double.TryParse(Path.GetFileName(d), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : -1))
                .Where(x => Valid(x.Dir))
                .OrderByDescending(x => x.Version)
                .FirstOrDefault();
            if (best.Dir is not null)
            {
                return best.Dir;
            }
        }
        throw new InvalidOperationException(
            "PostgreSQL server binaries not found (set SLUICE_PG_BINDIR, or install postgresql so that pg_config --bindir or /usr/lib/postgresql/*/bin/initdb exists).");
    }
}
