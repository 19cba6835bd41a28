using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sluice.Auth;
using Sluice.Config;
using Sluice.Diagnostics;
using Sluice.Pooling;
using Sluice.Transport;

namespace Sluice.Hosting;

/// <summary>
/// The running pooler: the current config snapshot, the listeners, the pools and the clients. The settings and the
/// files loaded with them are one immutable <see cref="ConfigSnapshot"/> swapped atomically, so connections read
/// them without locks.
/// </summary>
public sealed partial class Pooler : IAsyncDisposable
{
    private readonly List<Listener> _listeners = [];
    private readonly ConcurrentDictionary<long, ClientConnection> _clients = new();
    private readonly ConcurrentDictionary<string, DatabaseEntry> _autoDatabases = new(StringComparer.Ordinal);
    private volatile ConfigSnapshot _snapshot;

    /// <summary>
    /// Taken by whoever publishes a snapshot: a reload builds the next one from the current one (SET keeps the
    /// auth_file and TLS setup in use), and pools follow the snapshots in the order they were published.
    /// </summary>
    private readonly Lock _publishing = new();
    private int _clientCount;
    private volatile bool _stopping;
    private Metrics.HttpEndpoint? _http;
    private Metrics.SluiceMeter? _meter;

    /// <summary>Where /metrics, /healthz and /readyz are served, when stats_listen_port is set.</summary>
    public EndPoint? HttpEndpoint => _http?.LocalEndPoint;

    /// <summary>/readyz: listening, not paused, not shutting down.</summary>
    public bool IsReady => !_stopping && !IsPaused && Endpoints.Count > 0;

    public Pooler(PoolerConfig config, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        _snapshot = ConfigSnapshot.Unloaded(config);
        Time = time ?? TimeProvider.System;
        Logger = loggerFactory.CreateLogger("Sluice");
        Tracked = new TrackedParameters(config.TrackExtraParameters);
        Pools = new PoolRegistry(this);
        Cancels = new CancelRegistry(Logger, () => Config.CancelWaitTimeout, () => Config);
        Janitor = new Maintenance.Janitor(this);
    }

    internal Maintenance.Janitor Janitor { get; }

    public PoolerConfig Config => _snapshot.Config;

    /// <summary>
    /// The settings and files in force. Who needs more than one of them (a login: the settings, HBA rules and
    /// auth_file) reads this once and keeps it, so that a reload meanwhile cannot give it a mix of two.
    /// </summary>
    internal ConfigSnapshot Snapshot => _snapshot;

    public TimeProvider Time { get; }

    /// <summary>Where the listeners are bound (tests bind port 0 and read the real port here).</summary>
    public IReadOnlyList<EndPoint> Endpoints
    {
        get
        {
            lock (_listeners)
            {
                return _listeners.Select(l => l.LocalEndPoint).ToArray();
            }
        }
    }

    /// <summary>Logged-in and logging-in clients counted against max_client_conn.</summary>
    public int ClientCount => Volatile.Read(ref _clientCount);

    internal ILogger Logger { get; }

    /// <summary>
    /// Every admitted client, for the janitor and the admin console, enumerated live rather than copied:
    /// <c>Values</c> would take every lock of the dictionary and copy one reference per client twice a second for
    /// the janitor (80 KB a tick at 10,000), so a pooler at rest would never be at rest for the GC.
    /// </summary>
    internal IEnumerable<ClientConnection> Clients
    {
        get
        {
            foreach (var pair in _clients)
            {
                yield return pair.Value;
            }
        }
    }

    internal int AdmittedClientCount => _clients.Count;

    internal AuthFile AuthFile => _snapshot.AuthFile;

    internal TrackedParameters Tracked { get; }

    /// <summary>Every distinct prepared statement seen in transaction pooling, shared by all pools.</summary>
    internal Pooling.Prepared.PreparedStatementRegistry Statements { get; } = new();

    internal PoolRegistry Pools { get; }

    internal CancelRegistry Cancels { get; }

    /// <summary>Ids of this pooler's clients and servers, one counter for both as in PgBouncer.</summary>
    internal SocketIds SocketIds { get; } = new();

    public Task StartAsync()
    {
        PoolerConfig config;
        lock (_publishing)
        {
            config = _snapshot.Config;
            var authFile = LoadAuthFile(config);
            var (hba, ident) = LoadHba(config);
            CheckTls(config, "TLS setup failed");
            _snapshot = new ConfigSnapshot(config, authFile, hba, ident, TlsContexts.For(config));
        }
        Bind(config);
        if (_listeners.Count == 0)
        {
            throw new IOException("no listening address could be bound (set listen_addr or unix_socket_dir)");
        }
        foreach (var listener in _listeners)
        {
            Log.Listening(Logger, listener.Description);
            listener.Start();
        }
        Janitor.Start();
        _http = Metrics.HttpEndpoint.Start(this);
        _meter = new Metrics.SluiceMeter(this);
        foreach (var warning in SettingSupport.UnsupportedButSet(config))
        {
            Log.ConfigWarning(Logger, warning);
        }
        Log.ProcessUp(Logger, Version.Text, Environment.Version.ToString());
        return Task.CompletedTask;
    }

    /// <summary>Stops accepting, closes every client and server: SIGQUIT / SHUTDOWN semantics.</summary>
    public ValueTask DisposeAsync()
    {
        _stopping = true;
        Janitor.Dispose();
        _http?.Dispose();
        _meter?.Dispose();
        StopListening();
        foreach (var client in _clients.Values)
        {
            client.Disconnect("pooler is shutting down", Protocol.SqlState.AdminShutdown);
        }
        foreach (var pool in Pools.All)
        {
            pool.CloseIdle("pooler is shutting down");
        }
        return ValueTask.CompletedTask;
    }

    private void StopListening()
    {
        lock (_listeners)
        {
            foreach (var listener in _listeners)
            {
                listener.Dispose();
            }
            _listeners.Clear();
        }
    }

    /// <summary>Raised after RELOAD / SIGHUP applied a new snapshot (the host reopens its log sinks).</summary>
    public event Action<PoolerConfig>? ConfigReloaded;

    /// <summary>
    /// Applies a new config snapshot with its auth_file, auth_hba_file and auth_ident_file (RELOAD / SIGHUP), all
    /// in one swap; connected clients keep working. A file that cannot be read leaves everything as it was (the
    /// exception says why). False when the snapshot's TLS files could not be used: the rest is applied, the previous
    /// TLS setup stays (logged).
    /// </summary>
    public bool Reload(PoolerConfig config, bool reloadAuthFile = true, bool reloadTls = true)
    {
        lock (_publishing)
        {
            var current = _snapshot;
            var authFile = reloadAuthFile ? LoadAuthFile(config) : current.AuthFile;
            var (hba, ident) = reloadAuthFile ? LoadHba(config) : (current.Hba, current.Ident);
            var tlsErrors = reloadTls ? TlsContexts.Validate(config) : [];
            var tls = reloadTls && tlsErrors.Count == 0 ? TlsContexts.For(config) : current.Tls;
            _snapshot = new ConfigSnapshot(config, authFile, hba, ident, tls);
            _autoDatabases.Clear();
            ConfigReloaded?.Invoke(config);
            foreach (var pool in Pools.All)
            {
                Reconfigure(pool, config);
            }
            // After ConfigReloaded, which may have moved the log to a new file.
            return !reloadTls || TlsApplied(tlsErrors, current.Tls, tls);
        }
    }

    /// <summary>
    /// A pool just made from <paramref name="config"/>'s entries: when a reload has replaced them since, it may have
    /// gone over the pools before this one was listed, so the pool takes the current settings here.
    /// </summary>
    internal void CatchUp(Pool pool, PoolerConfig config)
    {
        if (_snapshot.Config == config)
        {
            // Any later reload finds the pool listed.
            return;
        }
        lock (_publishing)
        {
            Reconfigure(pool, _snapshot.Config);
        }
    }

    private void Reconfigure(Pool pool, PoolerConfig config)
    {
        var database = FindDatabase(pool.Key.Database, config);
        if (database is not null)
        {
            config.Users.TryGetValue(pool.ServerUser, out var user);
            pool.Reconfigure(database, PoolSettings.Resolve(config, database, user));
        }
    }

    internal DatabaseEntry? FindDatabase(string name) => FindDatabase(name, Config);

    /// <summary>The entry serving <paramref name="name"/> in <paramref name="config"/> (a login looks in its own snapshot's).</summary>
    internal DatabaseEntry? FindDatabase(string name, PoolerConfig config)
    {
        if (config.Databases.TryGetValue(name, out var entry))
        {
            return entry;
        }
        if (config.FallbackDatabase is { } fallback)
        {
            // The '*' entry serves any name: "bar" behaves like "bar = <fallback> dbname=bar".
            return _autoDatabases.TryGetValue(name, out var known) ? known : RegisterAutoDatabase(name, fallback);
        }
        return null;
    }

    internal bool TryAdmitClient(ClientConnection client)
    {
        if (_stopping || IsDraining)
        {
            return false;
        }
        var count = Interlocked.Increment(ref _clientCount);
        if (count > Config.MaxClientConn)
        {
            Interlocked.Decrement(ref _clientCount);
            return false;
        }
        _clients[client.Id] = client;
        return true;
    }

    private readonly ConcurrentDictionary<string, Pooling.ConnectionCounter> _databaseClients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Pooling.ConnectionCounter> _userClients = new(StringComparer.Ordinal);

    /// <summary>
    /// Counts the client against its database and its login user (SHOW DATABASES / SHOW USERS
    /// current_client_connections), then checks max_db_client_connections and max_user_client_connections.
    /// A limit of 0 means none; a null <paramref name="user"/> is counted against the database only.
    /// The error texts and SQLSTATE (08P01) are PgBouncer's.
    /// </summary>
    internal bool TryAdmitToDatabaseAndUser(ClientConnection client, string database, int databaseLimit, string? user, int userLimit, out string? error)
    {
        var dbCounter = _databaseClients.GetOrAdd(database, static _ => new Pooling.ConnectionCounter());
        if (!dbCounter.TryTake(databaseLimit))
        {
            error = "client connections exceeded (max_db_client_connections)";
            return false;
        }
        Pooling.ConnectionCounter? userCounter = null;
        if (user is not null)
        {
            userCounter = _userClients.GetOrAdd(user, static _ => new Pooling.ConnectionCounter());
            if (!userCounter.TryTake(userLimit))
            {
                dbCounter.Release();
                error = "client connections exceeded (max_user_client_connections)";
                return false;
            }
        }
        client.ClientCounters = (dbCounter, userCounter);
        error = null;
        return true;
    }

    /// <summary>Logged-in clients of a database, the console included (SHOW DATABASES current_client_connections).</summary>
    internal int DatabaseClientCount(string database) => _databaseClients.TryGetValue(database, out var counter) ? counter.Count : 0;

    /// <summary>Logged-in clients of a login user on any database (SHOW USERS current_client_connections).</summary>
    internal int UserClientCount(string user) => _userClients.TryGetValue(user, out var counter) ? counter.Count : 0;

    internal void ClientClosed(ClientConnection client)
    {
        if (_clients.TryRemove(client.Id, out _))
        {
            Interlocked.Decrement(ref _clientCount);
        }
        ReleaseClientLimits(client);
    }

    /// <summary>Gives back the client's max_db/user_client_connections slots; called first when a client ends, and again harmlessly.</summary>
    internal static void ReleaseClientLimits(ClientConnection client)
    {
        if (client.ClientCounters is var (db, user) && db is not null)
        {
            client.ClientCounters = default;
            db.Release();
            user?.Release();
        }
    }

    private void OnAccepted(Socket socket, bool isUnix)
    {
        if (_stopping)
        {
            socket.CloseQuietly();
            return;
        }
        if (!isUnix)
        {
            socket.ConfigureTcp(Config);
        }
        var client = new ClientConnection(this, socket, isUnix);
        _ = client.RunAsync();
    }

    private void Bind(PoolerConfig config)
    {
        foreach (var address in ExpandListenAddresses(config.ListenAddr))
        {
            var endPoint = new IPEndPoint(address, config.ListenPort);
            try
            {
                _listeners.Add(Listener.BindTcp(endPoint, config.ListenBacklog, config.SoReuseport, OnAccepted, Logger));
            }
            catch (SocketException e)
            {
                Log.ListenFailed(Logger, endPoint.ToString(), e.Message);
                if (config.ListenAddr.Count == 1 && config.ListenAddr[0] != "*")
                {
                    throw new IOException($"cannot listen on {endPoint}: {e.Message}", e);
                }
            }
        }
        if (!string.IsNullOrEmpty(config.UnixSocketDir))
        {
            var port = config.ListenPort == 0 && _listeners.Count > 0 ? ((IPEndPoint)_listeners[0].LocalEndPoint).Port : config.ListenPort;
            var dir = config.UnixSocketDir;
            var path = dir.StartsWith('@') ? "\0" + dir[1..] + $"/.s.PGSQL.{port}" : Path.Combine(dir, $".s.PGSQL.{port}");
            _listeners.Add(Listener.BindUnix(path, config.UnixSocketMode, config.ListenBacklog, OnAccepted, Logger));
        }
    }

    private static IEnumerable<IPAddress> ExpandListenAddresses(IReadOnlyList<string> addresses)
    {
        foreach (var text in addresses)
        {
            var trimmed = text.Trim();
            if (trimmed.Length == 0)
            {
                continue;
            }
            if (trimmed == "*")
            {
                yield return IPAddress.Any;
                if (Socket.OSSupportsIPv6)
                {
                    yield return IPAddress.IPv6Any;
                }
                continue;
            }
            if (IPAddress.TryParse(trimmed, out var literal))
            {
                yield return literal;
                continue;
            }
            foreach (var resolved in Dns.GetHostAddresses(trimmed))
            {
                yield return resolved;
            }
        }
    }

    private static (HbaFile, IdentMap) LoadHba(PoolerConfig config)
    {
        var ident = string.IsNullOrEmpty(config.AuthIdentFile) ? IdentMap.Empty : IdentMap.Load(config.AuthIdentFile);
        var hba = string.IsNullOrEmpty(config.AuthHbaFile) ? HbaFile.Empty : HbaFile.Load(config.AuthHbaFile);
        hba.ValidateMaps(ident);
        if (config.AuthType == AuthType.Hba && string.IsNullOrEmpty(config.AuthHbaFile))
        {
            throw new FormatException("auth_type = hba needs auth_hba_file");
        }
        return (hba, ident);
    }

    /// <summary>
    /// At start, TLS settings whose files cannot be used stop the pooler with the setting and file in the message
    /// (later snapshots keep the running TLS setup instead, see <see cref="TlsApplied"/>).
    /// </summary>
    private static void CheckTls(PoolerConfig config, string what)
    {
        var errors = TlsContexts.Validate(config);
        if (errors.Count > 0)
        {
            throw new ConfigException($"{what}: {string.Join("; ", errors)}");
        }
    }

    private static AuthFile LoadAuthFile(PoolerConfig config) =>
        string.IsNullOrEmpty(config.AuthFile) ? AuthFile.Empty : AuthFile.Load(config.AuthFile);
}
