using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Sluice.Config;
using Sluice.Hosting;
using Sluice.Testing.Admin;
using Sluice.Testing.FakePostgres;
using Sluice.Testing.Wire;
using Xunit;
using Xunit.Abstractions;

namespace Sluice.Testing.Hosting;

/// <summary>
/// An in-process <see cref="Pooler"/> for one test, in front of real PostgreSQL or a <see cref="FakePostgresServer"/>
/// (see <see cref="TestPoolerOptions"/>). Its auth_file and ini live in a private temp directory (so RELOAD re-reads
/// the ini), it listens on 127.0.0.1 with an OS-chosen port, its log is kept in memory, and dispose tears it all down.
/// </summary>
public sealed class TestPooler : IAsyncDisposable
{
    /// <summary>The fake backend's only database.</summary>
    public const string FakeDatabase = "db";

    private readonly TestLoggerProvider _logs;
    private readonly PostgresInstance? _postgres;
    private readonly FakePostgresServer? _fake;
    private int _disposed;

    private TestPooler(TestPoolerOptions options, TempDirectory dir, string iniPath, IniBuilder ini, Pooler pooler, FakePostgresServer? fake, TestLoggerProvider logs)
    {
        _postgres = options.Postgres;
        _fake = fake;
        Dir = dir;
        IniPath = iniPath;
        Ini = ini;
        Pooler = pooler;
        _logs = logs;
        EndPoint = pooler.Endpoints.OfType<IPEndPoint>().First();
    }

    /// <summary>The real PostgreSQL behind the pooler; throws in front of the fake.</summary>
    public PostgresInstance Postgres => _postgres ?? throw new InvalidOperationException("this pooler runs in front of a fake");

    /// <summary>The fake backend; throws in front of real PostgreSQL.</summary>
    public FakePostgresServer Fake => _fake ?? throw new InvalidOperationException("this pooler runs in front of real PostgreSQL");

    /// <summary>Private temp directory: the ini (sluice.ini), the auth_file (userlist.txt) and the Unix socket live here.</summary>
    public TempDirectory Dir { get; }

    public string IniPath { get; }

    /// <summary>The ini the pooler was started with; change it, then <see cref="WriteIni"/> and RELOAD.</summary>
    public IniBuilder Ini { get; }

    public Pooler Pooler { get; }

    /// <summary>Where the pooler listens over TCP (127.0.0.1).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The TCP port; also the number in the Unix socket's name.</summary>
    public int Port => EndPoint.Port;

    public string PortText => Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>The Unix socket directory (null when disabled).</summary>
    public string? SocketDir => string.IsNullOrEmpty(Pooler.Config.UnixSocketDir) ? null : Pooler.Config.UnixSocketDir;

    public TimeProvider Time => Pooler.Time;

    /// <summary>The database a client gets by default: appdb, or the fake's "db".</summary>
    public string DefaultDatabase => _fake is null ? PostgresInstance.AppDatabase : FakeDatabase;

    /// <summary>The last captured log lines of the pooler (for assertion messages).</summary>
    public string LogTail(int lines = 60) => _logs.Tail(lines);

    public IReadOnlyList<string> LogLines => _logs.Lines;

    /// <summary>Starts a pooler as <paramref name="options"/> say.</summary>
    public static async Task<TestPooler> StartAsync(TestPoolerOptions options)
    {
        if ((options.Postgres is null) == (options.FakeScript is null))
        {
            throw new ArgumentException("a test pooler runs in front of either real PostgreSQL or a fake, not both or neither", nameof(options));
        }
        var fake = options.FakeScript is { } script ? FakePostgresServer.Start(script) : null;
        var dir = TempDirectory.Create("sluice-test-");
        try
        {
            var authFile = dir.WriteUserList("userlist.txt", [.. options.Users ?? (fake is null ? TestUsers.Fixture : TestUsers.Fake)]);
            var ini = new IniBuilder()
                .Setting("listen_addr", "127.0.0.1")
                .Setting("listen_port", 0)
                .Setting("unix_socket_dir", options.UnixSocket ? dir.Path : "")
                .Setting("auth_type", fake is null ? "md5" : "trust")
                .Setting("auth_file", authFile);
            if (options.Postgres is { } postgres)
            {
                ini.Setting("pool_mode", "transaction")
                    .Setting("default_pool_size", 5)
                    .Database(PostgresInstance.AppDatabase, postgres.LibpqConnectString(PostgresInstance.AppDatabase));
            }
            else
            {
                ini.Setting("server_tls_sslmode", "disable")
                    .Setting("ignore_startup_parameters", "extra_float_digits")
                    .Database(FakeDatabase, $"host=127.0.0.1 port={fake!.Port.ToString(CultureInfo.InvariantCulture)} dbname={FakeDatabase}");
            }
            options.Configure?.Invoke(ini);
            var iniPath = dir.WriteIni("sluice.ini", ini);
            var logs = new TestLoggerProvider(options.Output, options.LogLevel);
            var pooler = new Pooler(ConfigLoader.LoadFile(iniPath), new SingleProviderLoggerFactory(logs), options.Time);
            try
            {
                await pooler.StartAsync().ConfigureAwait(false);
                return new TestPooler(options, dir, iniPath, ini, pooler, fake, logs);
            }
            catch
            {
                await pooler.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        catch
        {
            dir.Dispose();
            if (fake is not null)
            {
                await fake.DisposeAsync().ConfigureAwait(false);
            }
            throw;
        }
    }

    /// <summary>
    /// In front of real PostgreSQL: pool_mode=transaction, auth_type=md5, default_pool_size=5, max_client_conn=200,
    /// databases appdb and postgres, the fixture's roles in the auth_file, a Unix socket.
    /// </summary>
    public static Task<TestPooler> StartAsync(
        PostgresInstance postgres,
        ITestOutputHelper? output = null,
        Action<IniBuilder>? configure = null,
        IEnumerable<(string User, string Secret)>? users = null,
        bool unixSocket = true) =>
        StartAsync(new TestPoolerOptions
        {
            Postgres = postgres,
            Output = output,
            Users = users,
            UnixSocket = unixSocket,
            Configure = ini =>
            {
                ini.Setting("max_client_conn", 200).Database("postgres", postgres.LibpqConnectString("postgres"));
                configure?.Invoke(ini);
            },
        });

    /// <summary>
    /// In front of a fake that runs <paramref name="script"/> per server connection: database "db", user "app",
    /// trust auth, debug logging; <paramref name="settings"/> are extra [pgbouncer] lines ("key = value").
    /// </summary>
    public static Task<TestPooler> StartAsync(Func<FakeServerConnection, Task> script, ITestOutputHelper? output = null, params string[] settings) =>
        StartAsync(new TestPoolerOptions
        {
            FakeScript = script,
            Output = output,
            LogLevel = LogLevel.Debug,
            Configure = ini => ini.SettingLines(settings),
        });

    /// <summary>
    /// For console tests: admin_users=admin, stats_users=stats, the users of <see cref="TestUsers.Console"/>,
    /// connection logging off, database appdb only.
    /// </summary>
    public static Task<TestPooler> StartConsoleAsync(PostgresInstance postgres, Action<IniBuilder>? configure = null) =>
        StartAsync(new TestPoolerOptions
        {
            Postgres = postgres,
            Users = TestUsers.Console,
            Configure = ini =>
            {
                ini.Setting("admin_users", TestUsers.Admin)
                    .Setting("stats_users", TestUsers.Stats)
                    .Setting("log_connections", "0")
                    .Setting("log_disconnections", "0");
                configure?.Invoke(ini);
            },
        });

    /// <summary>
    /// For operations tests: the console user admin (admin_users and stats_users), the users of
    /// <see cref="TestUsers.Operations"/> and <paramref name="extraUsers"/>, max_client_conn=200, database appdb only.
    /// </summary>
    public static Task<TestPooler> StartOperationsAsync(
        PostgresInstance postgres,
        ITestOutputHelper? output,
        Action<IniBuilder>? configure = null,
        IEnumerable<(string User, string Secret)>? extraUsers = null) =>
        StartAsync(new TestPoolerOptions
        {
            Postgres = postgres,
            Output = output,
            Users = [.. TestUsers.Operations, .. extraUsers ?? []],
            Configure = ini =>
            {
                ini.Setting("admin_users", TestUsers.Admin)
                    .Setting("stats_users", TestUsers.Admin)
                    .Setting("max_client_conn", 200);
                configure?.Invoke(ini);
            },
        });

    /// <summary>Rewrites the ini file from <see cref="Ini"/> (after the test changed it).</summary>
    public void WriteIni() => Dir.WriteIni("sluice.ini", Ini);

    /// <summary>
    /// Npgsql connection string to the pooler over TCP (no Npgsql pooling). In front of the fake, Npgsql loads no
    /// types, so it sends no queries of its own; <paramref name="extra"/> is appended as written.
    /// </summary>
    public string ConnectionString(
        string user = PostgresInstance.AppUser,
        string? password = PostgresInstance.AppPassword,
        string? database = null,
        Action<NpgsqlConnectionStringBuilder>? tweak = null,
        string? extra = null)
    {
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = user,
            Database = database ?? DefaultDatabase,
            Pooling = false,
            Timeout = 15,
            CommandTimeout = 60,
            IncludeErrorDetail = true,
        };
        if (password is not null)
        {
            b.Password = password;
        }
        tweak?.Invoke(b);
        var text = _fake is null ? b.ConnectionString : b.ConnectionString + ";Server Compatibility Mode=NoTypeLoading";
        return extra is null ? text : text + ";" + extra;
    }

    /// <summary>Opens an Npgsql connection through the pooler.</summary>
    public async Task<NpgsqlConnection> OpenAsync(
        string user = PostgresInstance.AppUser,
        string? password = PostgresInstance.AppPassword,
        string? database = null,
        Action<NpgsqlConnectionStringBuilder>? tweak = null)
    {
        var conn = new NpgsqlConnection(ConnectionString(user, password, database, tweak));
        try
        {
            await conn.OpenAsync().ConfigureAwait(false);
            return conn;
        }
        catch
        {
            await conn.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A <see cref="RawPgClient"/> connected over TCP that has sent nothing yet.</summary>
    public Task<RawPgClient> ConnectAsync(int? receiveBufferSize = null) => RawPgClient.ConnectAsync(EndPoint, receiveBufferSize);

    /// <summary>Logs a <see cref="RawPgClient"/> in; the outcome (welcome or error) is in its Login.</summary>
    public Task<RawPgClient> LoginAsync(
        string user = PostgresInstance.AppUser,
        string? password = PostgresInstance.AppPassword,
        string? database = null,
        params (string Name, string Value)[] parameters) =>
        RawPgClient.LoginAsync(EndPoint, user, database ?? DefaultDatabase, password, Pairs(parameters));

    /// <summary>Logs a <see cref="RawPgClient"/> in; a refused login throws <see cref="RawPgException"/>.</summary>
    public Task<RawPgClient> LoginOkAsync(
        string user = PostgresInstance.AppUser,
        string? password = PostgresInstance.AppPassword,
        string? database = null,
        params (string Name, string Value)[] parameters) =>
        RawPgClient.LoginOkAsync(EndPoint, user, database ?? DefaultDatabase, password, Pairs(parameters));

    /// <summary>Runs one command with psql against the console as <see cref="TestUsers.Admin"/> (-A -F '|' -X, footers off).</summary>
    public Task<PsqlResult> ConsoleAsync(string command) => ConsoleAsync(command, TestUsers.Admin, TestUsers.AdminPassword);

    /// <summary>Runs one command with psql against the console as <paramref name="user"/>.</summary>
    public Task<PsqlResult> ConsoleAsync(string command, string user, string password) => Psql.RunAsync(Port, command, user, password);

    /// <summary>
    /// Asserts that a new client gets a server that is not inside some earlier transaction: over the simple
    /// protocol, now() equals statement_timestamp() (a fresh implicit transaction), no xid is assigned and
    /// ReadyForQuery says idle.
    /// </summary>
    public async Task AssertNextClientNotInTransactionAsync(
        string user = PostgresInstance.AppUser,
        string? password = PostgresInstance.AppPassword,
        string database = PostgresInstance.AppDatabase)
    {
        await using var raw = await LoginOkAsync(user, password, database).ConfigureAwait(false);
        var r = await raw.QueryAsync("SELECT now() = statement_timestamp(), txid_current_if_assigned() IS NULL").ConfigureAwait(false);
        Assert.Null(r.Error);
        Assert.Equal('I', r.TransactionStatus);
        Assert.True(r.ResultSets[0][0][0] == "t", "the next client's server is inside an older transaction (now() <> statement_timestamp())");
        Assert.True(r.ResultSets[0][0][1] == "t", "the next client's server has an xid assigned from an older transaction");
    }

    /// <summary>Moves the fake clock (<see cref="TestPoolerOptions.Time"/>), runs the janitor, then lets real I/O settle for a moment.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        var time = Time as FakeTimeProvider ?? throw new InvalidOperationException("this pooler runs on a real clock");
        time.Advance(by);
        Pooler.Janitor.Tick();
        await Task.Delay(50).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            await Pooler.DisposeAsync().ConfigureAwait(false);
            if (_fake is not null)
            {
                await _fake.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            var errors = _logs.Lines.Count(l => l.Contains(" Error ", StringComparison.Ordinal) || l.Contains(" Critical ", StringComparison.Ordinal));
            _logs.WriteOutput($"--- sluice log tail ({errors} error lines) ---\n{_logs.Tail(40)}");
            Dir.Dispose();
        }
    }

    private static IEnumerable<KeyValuePair<string, string>> Pairs((string Name, string Value)[] parameters) =>
        parameters.Select(p => new KeyValuePair<string, string>(p.Name, p.Value));

    private sealed class SingleProviderLoggerFactory(TestLoggerProvider provider) : ILoggerFactory
    {
        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => provider.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }
}
