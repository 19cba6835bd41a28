using Microsoft.Extensions.Logging;
using Sluice.Auth;
using Sluice.Config;
using Sluice.Diagnostics;
using Sluice.Hosting;
using Sluice.Protocol;

namespace Sluice.Pooling;

/// <summary>
/// The servers of one (database, user) pair and the clients waiting for them. One pool serves every core:
/// a short lock guards its lists, and a released server goes straight to the longest-waiting client.
/// </summary>
internal sealed partial class Pool
{
    private readonly object _lock = new();
    private readonly List<ServerConnection> _idle = [];
    private readonly HashSet<ServerConnection> _servers = [];   // every logged-in server, for SHOW SERVERS
    private readonly LinkedList<ClientConnection> _waiters = new();
    private int _total;        // servers that exist or are connecting
    private int _connecting;   // servers still logging in
    private int _clients;      // logged-in clients of this pool
    private int _hostCursor;
    private volatile IReadOnlyList<KeyValuePair<string, string>>? _serverParameters;
    private volatile WelcomeParameters? _welcome;

    private readonly ConnectionCounter _databaseServers;
    private readonly ConnectionCounter _userServers;
    private bool _paused;           // PAUSE: no server handed out, released servers closed
    private bool _suspended;        // SUSPEND: paused, but released servers are kept idle for RESUME
    private int _generation;        // RECONNECT: servers of an older generation are closed when released
    private long _loginFailedAt;    // server_login_retry: when the last server login failed
    private ErrorFields _loginError;

    public Pool(Pooler pooler, PoolKey key, DatabaseEntry database, string serverUser, PoolSettings settings,
        ConnectionCounter databaseServers, ConnectionCounter userServers)
    {
        Pooler = pooler;
        Key = key;
        Database = database;
        ServerUser = serverUser;
        Settings = settings;
        _databaseServers = databaseServers;
        _userServers = userServers;
    }

    public Pooler Pooler { get; }

    public Stats.PoolStats Stats { get; } = new();

    public PoolKey Key { get; }

    public DatabaseEntry Database { get; private set; }

    /// <summary>The role servers log in as: the forced user of the database, or the client's own.</summary>
    public string ServerUser { get; }

    public PoolSettings Settings { get; private set; }

    /// <summary>The secret auth_query found for this pool's user, used when auth_file does not list it.</summary>
    public PasswordSecret? DynamicSecret { get; set; }

    /// <summary>SCRAM pass-through: the ClientKey recovered from a client's proof against the auth_file secret.</summary>
    public byte[]? ScramClientKey { get; set; }

    /// <summary>The ParameterStatus set of the first server login, replayed to every client at login.</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? ServerParameters => _serverParameters;

    /// <summary>The server parameters prepared for client logins; null until a server of the pool logged in.</summary>
    public WelcomeParameters? Welcome(TrackedParameters tracked)
    {
        var parameters = _serverParameters;
        if (parameters is null)
        {
            return null;
        }
        var welcome = _welcome;
        if (welcome is null || welcome.Tracked != tracked || welcome.Parameters != parameters)
        {
            _welcome = welcome = new WelcomeParameters(parameters, tracked);
        }
        return welcome;
    }

    public string DatabaseName => Database.DbName ?? Key.Database;

    public int ClientCount => Volatile.Read(ref _clients);

    public int ServerCount => Volatile.Read(ref _total);

    public int WaitingCount
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count + _replicationWaiters.Count;
            }
        }
    }

    public int IdleCount
    {
        get
        {
            lock (_lock)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>A copy of the logged-in servers (idle, active, internal), for the admin console.</summary>
    public ServerConnection[] SnapshotServers()
    {
        lock (_lock)
        {
            return [.. _servers];
        }
    }

    /// <summary>A copy of the waiting clients in queue order.</summary>
    public ClientConnection[] SnapshotWaiters()
    {
        lock (_lock)
        {
            return [.. _waiters];
        }
    }

    /// <summary>Servers still connecting and logging in.</summary>
    public int ConnectingCount
    {
        get
        {
            lock (_lock)
            {
                return _connecting;
            }
        }
    }

    public int Generation => Volatile.Read(ref _generation);

    public bool IsPaused => Volatile.Read(ref _paused);

    /// <summary>Servers that are not idle: linked, running an internal query or logging in.</summary>
    public int BusyServerCount
    {
        get
        {
            lock (_lock)
            {
                return _total - _idle.Count;
            }
        }
    }

    /// <summary>PAUSE: finish running transactions, then close servers; waiting clients stay queued.</summary>
    public void Pause()
    {
        lock (_lock)
        {
            _paused = true;
        }
        CloseIdle("pause mode");
    }

    /// <summary>SUSPEND: like PAUSE no server is handed out, but servers stay open (PgBouncer keeps every socket).</summary>
    public void Suspend()
    {
        lock (_lock)
        {
            _paused = true;
            _suspended = true;
        }
    }

    /// <summary>RESUME: queued clients get servers again.</summary>
    public void Resume()
    {
        List<(ClientConnection Client, ServerConnection Server)> handoffs = [];
        lock (_lock)
        {
            _paused = false;
            _suspended = false;
            while (_waiters.First is { } node && TryTakeIdle(out var server))
            {
                _waiters.RemoveFirst();
                server.LinkTo(node.Value);
                handoffs.Add((node.Value, server));
            }
            LaunchConnectsIfNeeded();
        }
        foreach (var (client, server) in handoffs)
        {
            client.CompleteWait(server);
        }
    }

    /// <summary>RECONNECT (and a reload that repoints the database): every server is replaced once it is released.</summary>
    public void Reconnect()
    {
        Interlocked.Increment(ref _generation);
        // PgBouncer's words for the idle servers its janitor closes after RECONNECT or a config change.
        CloseIdle("database configuration changed");
        CloseReplicationServers("database configuration changed");
    }

    /// <summary>
    /// server_tls_* changed (RELOAD / SET): every server is replaced once it is released, as after RECONNECT, and a
    /// cached login failure no longer fails clients fast, since it was met with the old settings (PgBouncer makes
    /// clients wait for a fresh login too).
    /// </summary>
    public void ServerTlsChanged()
    {
        Reconnect();
        lock (_lock)
        {
            _loginFailedAt = 0;
            LaunchConnectsIfNeeded();
        }
    }

    /// <summary>KILL: closes every server now; their clients are disconnected by the servers' exits.</summary>
    public void CloseAllServers(string reason)
    {
        foreach (var server in SnapshotServers())
        {
            server.Client?.Disconnect(reason, SqlState.AdminShutdown);
            server.Close(reason);
        }
    }

    /// <summary>Closes this pool's longest-idle server so another pool under the same limit can open one.</summary>
    public bool TryCloseOneIdle(string reason)
    {
        ServerConnection? victim = null;
        lock (_lock)
        {
            if (_idle.Count > 0)
            {
                victim = _idle[0];
                _idle.RemoveAt(0);
            }
        }
        victim?.Close(reason);
        return victim is not null;
    }

    /// <summary>Opens servers for waiting clients if the limits now allow it.</summary>
    public void LaunchPending()
    {
        lock (_lock)
        {
            LaunchConnectsIfNeeded();
        }
    }

    /// <summary>Fails every queued client (KILL, shutdown).</summary>
    public void FailWaiters(string reason)
    {
        List<ClientConnection> failed = [];
        lock (_lock)
        {
            while (_waiters.First is { } node)
            {
                _waiters.RemoveFirst();
                failed.Add(node.Value);
            }
        }
        foreach (var client in failed)
        {
            client.FailWait(new ServerLoginException(new ErrorFields("FATAL", SqlState.AdminShutdown, reason)));
        }
    }

    public void Reconfigure(DatabaseEntry database, PoolSettings settings)
    {
        var repointed = database.ConnectionString != Database.ConnectionString;
        Database = database;
        Settings = settings;
        if (repointed)
        {
            // New host, port, dbname, user or password: servers of the old entry go as they are released.
            Reconnect();
        }
        lock (_lock)
        {
            LaunchConnectsIfNeeded();
        }
    }

    public void ClientJoined() => Interlocked.Increment(ref _clients);

    public void ClientLeft() => Interlocked.Decrement(ref _clients);

    /// <summary>
    /// Gives the client a server: an idle one at once, otherwise the client queues (FIFO) and a new server is
    /// opened if the pool has room. The returned server is already linked to the client.
    /// </summary>
    public ValueTask<ServerConnection> AcquireAsync(ClientConnection client)
    {
        if (Pooler.RefusesNewTransactions)
        {
            return ValueTask.FromException<ServerConnection>(new ServerLoginException(new ErrorFields("FATAL", SqlState.ProtocolViolation, Hosting.Pooler.ServerShuttingDown)));
        }
        lock (_lock)
        {
            if (!_paused && _waiters.Count == 0 && TryTakeIdle(out var server))
            {
                server.LinkTo(client);
                return new ValueTask<ServerConnection>(server);
            }
            if (_total == 0 && InLoginRetryWindow())
            {
                // Fail fast while the server keeps refusing logins, instead of queueing behind a doomed retry.
                var cached = new ErrorFields("FATAL", _loginError.SqlState,
                    $"server login has been failing, cached error: {_loginError.Message} (server_login_retry)");
                return ValueTask.FromException<ServerConnection>(new ServerLoginException(cached));
            }
            client.BeginWait();
            _waiters.AddLast(client.WaitNode);
            LaunchConnectsIfNeeded();
        }
        return client.WaitForServerAsync();
    }

    /// <summary>Takes a client out of the queue when it stops waiting (disconnect, timeout). False if a server was already handed over.</summary>
    public bool CancelWait(ClientConnection client)
    {
        lock (_lock)
        {
            var queue = client.IsQueuedIn(_waiters) ? _waiters : client.IsQueuedIn(_replicationWaiters) ? _replicationWaiters : null;
            if (queue is null)
            {
                return false;
            }
            queue.Remove(client.WaitNode);
            return true;
        }
    }

    /// <summary>
    /// Returns a clean, unlinked server: to the longest-waiting client, else to the idle list.
    /// <paramref name="unused"/> (a new server, or one only borrowed for a login's welcome) spares it the lifetime
    /// check, so server_lifetime = 0 still serves one client.
    /// </summary>
    public void Release(ServerConnection server, bool unused = false)
    {
        if (server.HoldReleaseForCancels())
        {
            return;   // released again when the last cancel request for its previous client is done
        }
        ClientConnection? next = null;
        string? closeReason = null;
        lock (_lock)
        {
            if (server.State == ServerState.Closed)
            {
                return;
            }
            if (!unused && IsPastLifetime(server, Pooler.Time.GetTimestamp()))
            {
                closeReason = "server lifetime over";
            }
            else if (server.Generation != _generation)
            {
                closeReason = "close_needed (RECONNECT or config change)";
            }
            else if (_paused && !_suspended)
            {
                closeReason = "pause mode";
            }
            else if (_paused)
            {
                server.MarkIdle(Pooler.Time.GetTimestamp());
                _idle.Add(server);
            }
            else if (_waiters.First is null && ShouldEvictForReplication())
            {
                closeReason = "evicted";
            }
            else if (_waiters.First is { } node)
            {
                _waiters.RemoveFirst();
                next = node.Value;
                server.LinkTo(next);
            }
            else
            {
                server.MarkIdle(Pooler.Time.GetTimestamp());
                _idle.Add(server);
            }
        }
        if (closeReason is not null)
        {
            server.Close(closeReason);
            return;
        }
        next?.CompleteWait(server);
    }

    /// <summary>Called once by a server's single exit.</summary>
    public void OnServerClosed(ServerConnection server)
    {
        lock (_lock)
        {
            _total--;
            if (server.Replication != ReplicationMode.None)
            {
                _replicationServers--;
            }
            _idle.Remove(server);
            _servers.Remove(server);
            ReleaseSharedSlots();
            LaunchConnectsIfNeeded();
        }
    }

    /// <summary>Closes every idle server (RECONNECT, shutdown); linked ones close when released.</summary>
    public void CloseIdle(string reason)
    {
        ServerConnection[] idle;
        lock (_lock)
        {
            idle = [.. _idle];
        }
        foreach (var server in idle)
        {
            server.Close(reason);
        }
    }

    private bool TryTakeIdle(out ServerConnection server)
    {
        var count = _idle.Count;
        if (count == 0)
        {
            server = null!;
            return false;
        }
        // LIFO keeps few servers warm; server_round_robin spreads load over all of them instead.
        var index = Settings.RoundRobin ? 0 : count - 1;
        server = _idle[index];
        _idle.RemoveAt(index);
        return true;
    }

    private void LaunchConnectsIfNeeded()
    {
        LaunchReplicationConnects();
        while (!_paused && _waiters.Count > _connecting && !InLoginRetryWindow() && TryTakeServerSlot())
        {
            LaunchConnect();
        }
    }

    private static TimeSpan MinPositive(TimeSpan a, TimeSpan b) =>
        a <= TimeSpan.Zero ? b : b <= TimeSpan.Zero ? a : a < b ? a : b;

        private bool InLoginRetryWindow() =>
        _loginFailedAt != 0 && Pooler.Config.ServerLoginRetry > TimeSpan.Zero
        && Pooler.Time.GetElapsedTime(_loginFailedAt) < Pooler.Config.ServerLoginRetry;

    private void LaunchConnect()
    {
        _total++;
        _connecting++;
        _ = ConnectAsync();
    }

    /// <summary>
    /// Room for one more server: the pool size, then max_db_connections and max_user_connections. Past the pool
    /// size a waiting client may take a reserve server once it has waited reserve_pool_timeout (each such server
    /// is logged, as PgBouncer does); min_pool_size (<paramref name="forWaiters"/> false) never uses the reserve.
    /// </summary>
    private bool TryTakeServerSlot(bool forWaiters = true)
    {
        var settings = Settings;
        var size = settings.PoolSize;
        ClientConnection? reserveFor = null;
        if (size > 0 && _total >= size)
        {
            if (!forWaiters || !ReserveOpen(Pooler.Time.GetTimestamp()) || _total >= size + settings.ReservePoolSize)
            {
                return false;
            }
            reserveFor = _waiters.First!.Value;
        }
        if (!_databaseServers.TryTake(settings.MaxDbConnections))
        {
            return false;
        }
        if (!_userServers.TryTake(settings.MaxUserConnections))
        {
            _databaseServers.Release();
            return false;
        }
        if (reserveFor is not null)
        {
            Log.TakingFromReservePool(Pooler.Logger, reserveFor.Peer);
        }
        return true;
    }

    /// <summary>
    /// The reserve is open while the oldest waiting client has waited reserve_pool_timeout (checked at each
    /// launch, like PgBouncer); a zero reserve_pool_timeout disables the reserve.
    /// </summary>
    private bool ReserveOpen(long now)
    {
        var settings = Settings;
        return settings.ReservePoolSize > 0 && settings.ReservePoolTimeout > TimeSpan.Zero && _waiters.First is { } oldest
            && Pooler.Time.GetElapsedTime(oldest.Value.WaitStartTimestamp, now) >= settings.ReservePoolTimeout;
    }

    private void ReleaseSharedSlots()
    {
        _databaseServers.Release();
        _userServers.Release();
    }

    /// <summary>server_lifetime = 0 makes every server single-use, as in PgBouncer: it is closed when released.</summary>
    private bool IsPastLifetime(ServerConnection server, long now) =>
        Pooler.Time.GetElapsedTime(server.ConnectTimestamp, now) >= Settings.ServerLifetime;

    /// <summary>
    /// Periodic upkeep (the janitor, about once a second): query_wait_timeout, the reserve pool,
    /// server_lifetime and server_idle_timeout of idle servers, min_pool_size.
    /// </summary>
    public void Maintain(long now)
    {
        MaintainReplicationWaiters(now);
        var settings = Settings;
        List<ClientConnection>? expired = null;
        List<ServerConnection>? retired = null;
        bool starved;
        lock (_lock)
        {
            // Waiters are in arrival order: only the head can be the oldest. query_timeout counts waiting too.
            var waitLimit = MinPositive(settings.QueryWaitTimeout, settings.QueryTimeout);
            while (waitLimit > TimeSpan.Zero && _waiters.First is { } head
                && Pooler.Time.GetElapsedTime(head.Value.WaitStartTimestamp, now) >= waitLimit)
            {
                _waiters.RemoveFirst();
                (expired ??= []).Add(head.Value);
            }
            var keep = settings.MinPoolSize;
            for (var i = _idle.Count - 1; i >= 0; i--)
            {
                var server = _idle[i];
                var idleTooLong = settings.ServerIdleTimeout > TimeSpan.Zero && _total - (retired?.Count ?? 0) > keep
                    && Pooler.Time.GetElapsedTime(server.IdleSinceTimestamp, now) >= settings.ServerIdleTimeout;
                if (IsPastLifetime(server, now) || idleTooLong)
                {
                    _idle.RemoveAt(i);
                    (retired ??= []).Add(server);
                }
            }
            LaunchConnectsIfNeeded();
            // Clients still waiting with room in the pool itself: max_db_connections / max_user_connections is full.
            starved = !_paused && _waiters.Count > _connecting && !InLoginRetryWindow()
                && (settings.PoolSize <= 0 || _total < settings.PoolSize + (ReserveOpen(now) ? settings.ReservePoolSize : 0));
            // min_pool_size applies to pools that have clients, or a forced user (PgBouncer's rule); it never goes
            // past pool_size, and never evicts another pool's server to make room (max_db/user_connections).
            var wantsMinimum = !_paused && (_clients > 0 || !string.IsNullOrEmpty(Database.User));
            var minimum = settings.PoolSize > 0 ? Math.Min(settings.MinPoolSize, settings.PoolSize) : settings.MinPoolSize;
            while (wantsMinimum && _total - (retired?.Count ?? 0) < minimum && TryTakeServerSlot(forWaiters: false))
            {
                LaunchConnect();
            }
        }
        if (retired is not null)
        {
            foreach (var server in retired)
            {
                server.Close(IsPastLifetime(server, now) ? "server lifetime over" : "server idle timeout");
            }
        }
        if (starved)
        {
            // As PgBouncer does: an idle server of another pool sharing the limit makes room for a waiting client.
            Pooler.Pools.EvictIdleServerFor(this);
        }
        if (expired is not null)
        {
            // PgBouncer tests query_timeout first: with both set, the shorter one names the error.
            var reason = settings.QueryTimeout > TimeSpan.Zero && (settings.QueryWaitTimeout <= TimeSpan.Zero || settings.QueryTimeout <= settings.QueryWaitTimeout)
                ? "query_timeout" : "query_wait_timeout";
            foreach (var client in expired)
            {
                client.FailWait(new ServerLoginException(new ErrorFields("FATAL", SqlState.ProtocolViolation, reason)));
            }
        }
    }

    private async Task ConnectAsync()
    {
        ServerConnection server;
        try
        {
            server = await ConnectToAnyHostAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var login = e as ServerLoginException;
            var error = login?.Error ?? new ErrorFields("FATAL", SqlState.ConnectionFailure, "server connection failed: " + e.Message);
            if (login is not { IsLogged: true })
            {
                Log.ServerConnectFailed(Pooler.Logger, Key.ToString(), error.Message);
            }
            FailWaiters(error, login is { IsRefusal: true });
            return;
        }
        _serverParameters ??= server.StartupParameters;
        lock (_lock)
        {
            _connecting--;
            _servers.Add(server);
            _loginFailedAt = 0;
        }
        Release(server, unused: true);
    }

    /// <summary>
    /// A refused login is relayed to the clients that were waiting for it, as PgBouncer does; after a server that
    /// could not be reached they keep waiting for the next attempt (server_login_retry) or query_wait_timeout.
    /// </summary>
    private void FailWaiters(ErrorFields error, bool refused)
    {
        List<ClientConnection> failed = [];
        lock (_lock)
        {
            _connecting--;
            _total--;
            ReleaseSharedSlots();
            _loginFailedAt = Pooler.Time.GetTimestamp();
            _loginError = error;
            // Clients keep waiting if a working server of this pool can still serve them; one that RECONNECT
            // condemned does not count (it is closed as soon as its client lets it go), nor does a replication one.
            if (!refused || HasServerOfCurrentGeneration())
            {
                return;
            }
            while (_waiters.First is { } node)
            {
                _waiters.RemoveFirst();
                failed.Add(node.Value);
            }
        }
        foreach (var client in failed)
        {
            client.FailWait(new ServerLoginException(error));
        }
    }

    /// <summary>Under the lock: a logged-in server that RECONNECT has not condemned.</summary>
    private bool HasServerOfCurrentGeneration()
    {
        foreach (var server in _servers)
        {
            if (server.Generation == _generation && server.Replication == ReplicationMode.None)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// host=a,b,c: round-robin over the hosts (load_balance_hosts = round-robin, the default), or stay on the
    /// last host that worked (disable). A host that cannot be reached is skipped, not fatal: the next one is
    /// tried, and only when every host failed do the waiting clients get the error.
    /// </summary>
    private readonly SemaphoreSlim _stickyHostGate = new(1, 1);

    private async Task<ServerConnection> ConnectToAnyHostAsync(ClientConnection? replicationFor = null)
    {
        var hosts = Database.Hosts;
        if (hosts.Count <= 1)
        {
            return await ServerConnection.ConnectAsync(this, hosts.Count == 0 ? null : hosts[0], replicationFor).ConfigureAwait(false);
        }
        var roundRobin = !string.Equals(Database.LoadBalanceHosts, "disable", StringComparison.OrdinalIgnoreCase);
        if (roundRobin)
        {
            return await ConnectToHostsAsync(hosts, roundRobin, replicationFor).ConfigureAwait(false);
        }
        // disable: one attempt at a time, as PgBouncer makes them, so that only the first finds a dead host
        // and the ones after it start on the host that worked.
        await _stickyHostGate.WaitAsync().ConfigureAwait(false);
        try
        {
            return await ConnectToHostsAsync(hosts, roundRobin, replicationFor).ConfigureAwait(false);
        }
        finally
        {
            _stickyHostGate.Release();
        }
    }

    private async Task<ServerConnection> ConnectToHostsAsync(IReadOnlyList<string> hosts, bool roundRobin, ClientConnection? replicationFor)
    {
        var start = roundRobin ? (int)((uint)Interlocked.Increment(ref _hostCursor) % (uint)hosts.Count) : Volatile.Read(ref _hostCursor) % hosts.Count;
        ServerLoginException? last = null;
        for (var attempt = 0; attempt < hosts.Count; attempt++)
        {
            var index = (start + attempt) % hosts.Count;
            try
            {
                var server = await ServerConnection.ConnectAsync(this, hosts[index], replicationFor).ConfigureAwait(false);
                if (!roundRobin)
                {
                    Volatile.Write(ref _hostCursor, index);
                }
                return server;
            }
            catch (ServerLoginException e) when (e.Error.SqlState == SqlState.ConnectionFailure)
            {
                // Unreachable (refused, timed out): try the next host. A refused login is final.
                Log.ServerConnectFailed(Pooler.Logger, $"{Key}@{hosts[index]}", e.Error.Message);
                last = e;
            }
        }
        throw last!;
    }
}
