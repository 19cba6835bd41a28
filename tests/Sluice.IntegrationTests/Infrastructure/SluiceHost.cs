using System.Globalization;
using System.Net;
using Npgsql;
using Sluice.Config;
using Sluice.Hosting;
using Sluice.Testing;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Infrastructure;

/// <summary>
/// An in-process <see cref="Pooler"/> for one test: writes an auth_file into a private temp directory, builds the
/// ini (TCP on 127.0.0.1 with an OS-chosen port, a Unix socket in the temp directory, [databases] entries for the
/// fixture's appdb and postgres), starts the pooler and tears everything down on dispose.
/// </summary>
public sealed class SluiceHost : IAsyncDisposable
{
    /// <summary>Users written to the default auth_file: the fixture's roles with their plain passwords.</summary>
    public static readonly (string User, string Secret)[] DefaultUsers =
    {
        (PostgresInstance.ScramUser, PostgresInstance.ScramPassword),
        (PostgresInstance.Md5User, PostgresInstance.Md5Password),
        (PostgresInstance.AppUser, PostgresInstance.AppPassword),
    };

    private readonly TestLoggerProvider _logs;
    private int _disposed;

    private SluiceHost(PostgresInstance postgres, TempDirectory dir, Pooler pooler, TestLoggerProvider logs, string ini)
    {
        Postgres = postgres;
        Dir = dir;
        Pooler = pooler;
        _logs = logs;
        Ini = ini;
        Port = pooler.Endpoints.OfType<IPEndPoint>().Select(e => e.Port).FirstOrDefault();
    }

    public PostgresInstance Postgres { get; }

    /// <summary>Private temp directory: auth_file (userlist.txt) and the Unix socket live here.</summary>
    public TempDirectory Dir { get; }

    public Pooler Pooler { get; }

    /// <summary>The ini text the pooler was started with.</summary>
    public string Ini { get; }

    /// <summary>The TCP port the pooler listens on (127.0.0.1); also the number of the Unix socket.</summary>
    public int Port { get; }

    /// <summary>The Unix socket directory (null when disabled).</summary>
    public string? SocketDir => string.IsNullOrEmpty(Pooler.Config.UnixSocketDir) ? null : Pooler.Config.UnixSocketDir;

    public string PortText => Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>The last captured log lines of the pooler (for assertion messages).</summary>
    public string LogTail(int lines = 60) => _logs.Tail(lines);

    public IReadOnlyList<string> LogLines => _logs.Lines;

    /// <summary>
    /// Starts a pooler. Defaults: pool_mode=transaction, auth_type=md5, default_pool_size=5, max_client_conn=200,
    /// databases appdb and postgres. <paramref name="configure"/> may override anything (IniBuilder.Set overwrites).
    /// </summary>
    public static async Task<SluiceHost> StartAsync(
        PostgresInstance postgres,
        ITestOutputHelper? output = null,
        Action<IniBuilder>? configure = null,
        IEnumerable<(string User, string Secret)>? users = null,
        bool unixSocket = true)
    {
        var dir = TempDirectory.Create("sluice-it-");
        try
        {
            var authFile = dir.WriteUserList("userlist.txt", (users ?? DefaultUsers).ToArray());
            var ini = new IniBuilder()
                .Setting("listen_addr", "127.0.0.1")
                .Setting("listen_port", 0)
                .Setting("unix_socket_dir", unixSocket ? dir.Path : "")
                .Setting("auth_type", "md5")
                .Setting("auth_file", authFile)
                .Setting("pool_mode", "transaction")
                .Setting("default_pool_size", 5)
                .Setting("max_client_conn", 200)
                .Database(PostgresInstance.AppDatabase, postgres.LibpqConnectString(PostgresInstance.AppDatabase))
                .Database("postgres", postgres.LibpqConnectString("postgres"));
            configure?.Invoke(ini);
            var text = ini.ToString();
            var config = ConfigLoader.LoadText(text, "sluice-test.ini");
            var logs = new TestLoggerProvider(output);
            var pooler = new Pooler(config, new SingleProviderLoggerFactory(logs));
            try
            {
                await pooler.StartAsync();
            }
            catch
            {
                await pooler.DisposeAsync();
                throw;
            }
            return new SluiceHost(postgres, dir, pooler, logs, text);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>Npgsql connection string to the pooler over TCP (Pooling=false).</summary>
    public string ConnectionString(
        string user = PostgresInstance.AppUser,
        string? password = PostgresInstance.AppPassword,
        string database = PostgresInstance.AppDatabase,
        Action<NpgsqlConnectionStringBuilder>? tweak = null)
    {
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = user,
            Database = database,
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
        return b.ConnectionString;
    }

    /// <summary>Opens an Npgsql connection through the pooler.</summary>
    public async Task<NpgsqlConnection> OpenAsync(
        string user = PostgresInstance.AppUser,
        string? password = PostgresInstance.AppPassword,
        string database = PostgresInstance.AppDatabase,
        Action<NpgsqlConnectionStringBuilder>? tweak = null)
    {
        var conn = new NpgsqlConnection(ConnectionString(user, password, database, tweak));
        try
        {
            await conn.OpenAsync();
            return conn;
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }

    /// <summary>Opens a <see cref="RawPgClient"/> (md5/plain/trust auth) through the pooler; a refused login throws.</summary>
    public Task<RawPgClient> ConnectRawAsync(
        string user = PostgresInstance.AppUser,
        string? password = PostgresInstance.AppPassword,
        string database = PostgresInstance.AppDatabase,
        IDictionary<string, string>? extraParameters = null) =>
        RawPgClient.LoginOkAsync(Port, user, database, password, extraParameters);

    /// <summary>Logs a <see cref="RawPgClient"/> in through the pooler; a refused login throws.</summary>
    public Task<RawPgClient> LoginOkAsync(
        string user = PostgresInstance.AppUser,
        string? password = PostgresInstance.AppPassword,
        string database = PostgresInstance.AppDatabase) =>
        RawPgClient.LoginOkAsync(Port, user, database, password);

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
        await using var raw = await ConnectRawAsync(user, password, database);
        var r = await raw.QueryAsync("SELECT now() = statement_timestamp(), txid_current_if_assigned() IS NULL");
        Assert.Null(r.Error);
        Assert.Equal('I', r.TransactionStatus);
        Assert.True(r.ResultSets[0][0][0] == "t", "the next client's server is inside an older transaction (now() <> statement_timestamp())");
        Assert.True(r.ResultSets[0][0][1] == "t", "the next client's server has an xid assigned from an older transaction");
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            await Pooler.DisposeAsync();
        }
        finally
        {
            var warnings = _logs.Lines.Count(l => l.Contains(" Error ", StringComparison.Ordinal) || l.Contains(" Critical ", StringComparison.Ordinal));
            _logs.WriteOutput($"--- sluice log tail ({warnings} error lines) ---\n{_logs.Tail(40)}");
            Dir.Dispose();
        }
    }

    private sealed class SingleProviderLoggerFactory(TestLoggerProvider provider) : Microsoft.Extensions.Logging.ILoggerFactory
    {
        public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider)
        {
        }

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => provider.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }
}
