using System.Buffers.Binary;
using Sluice.Config;
using Sluice.Diagnostics;
using Sluice.Hosting;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Pooling;

internal sealed partial class ClientConnection
{
    /// <summary>
    /// Startup packet, authentication and welcome. Returns bytes the client sent after its login, or null
    /// when the connection ended here (error, cancel request).
    /// </summary>
    private async Task<byte[]?> LoginAsync()
    {
        // The login timeout and the TLS offer are settled on arrival, before the client has said anything.
        var onArrival = Pooler.Snapshot;
        var loginTimeout = onArrival.Config.ClientLoginTimeout;
        using var timeout = new CancellationTokenSource(loginTimeout > TimeSpan.Zero ? loginTimeout : Timeout.InfiniteTimeSpan, Pooler.Time);
        var token = timeout.Token;
        var reader = new LoginReader(_connection, StartupCode.MaxStartupPacketLength);

        // TLS (Transport/Tls*.cs): offered on TCP only; a ClientHello as the first byte is direct TLS (PostgreSQL 17).
        var tlsSetup = Pooler.TlsOf(onArrival);
        var tlsOptions = IsUnixSocket || tlsSetup.ClientMode == TlsMode.Disable ? null : tlsSetup.ClientOptions;
        if (tlsOptions is not null && await TlsHandshake.IsDirectTlsAsync(_connection, token).ConfigureAwait(false)
            && !await StartTlsAsync(direct: true).ConfigureAwait(false))
        {
            return null;
        }

        StartupPacket? startup = null;
        while (startup is null)
        {
            var body = await reader.ReadUntypedAsync(token).ConfigureAwait(false);
            if (body is null)
            {
                Disconnect("client unexpected eof", null);
                return null;
            }
            var code = BinaryPrimitives.ReadInt32BigEndian(body);
            switch (code)
            {
                case StartupCode.SslRequest when tlsOptions is not null && !_connection.IsTls:
                    if (!reader.Leftover.IsEmpty)
                    {
                        // Bytes sent before 'S' would be taken as if they came over TLS (CVE-2021-23214).
                        Disconnect("received unencrypted data after SSL request", SqlState.ProtocolViolation);
                        return null;
                    }
                    await _connection.SendAsync(TlsHandshake.SslAccepted, token).ConfigureAwait(false);
                    if (!await StartTlsAsync(direct: false).ConfigureAwait(false))
                    {
                        return null;
                    }
                    continue;
                case StartupCode.SslRequest:
                case StartupCode.GssEncRequest:
                    // TLS and GSS encryption to clients are not offered: 'N' makes libpq continue in plain text.
                    await _connection.SendAsync(Pregenerated.SslRefused, token).ConfigureAwait(false);
                    continue;
                case StartupCode.CancelRequest when body.Length == 12:
                    await Pooler.Cancels.ForwardAsync(BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(4)), BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(8))).ConfigureAwait(false);
                    Disconnect("cancel request", null);
                    return null;
            }
            if (code >> 16 != 3)
            {
                Disconnect(code >> 16 == 2 ? "old V2 protocol not supported" : "unsupported protocol version", SqlState.ProtocolViolation);
                return null;
            }
            startup = StartupPacket.TryParse(body, out var error);
            if (startup is null)
            {
                Disconnect(error!, SqlState.ProtocolViolation);
                return null;
            }
        }
        if (!IsUnixSocket && TlsContexts.LoginRequirementError(_connection, tlsSetup.ClientMode) is { } tlsRequired)
        {
            Disconnect(tlsRequired, SqlState.InvalidAuthorizationSpecification);
            return null;
        }

        // Who the client is and how it proves it are judged by the rules in force now that it has said who it is, as
        // PgBouncer reads its HBA rules and auth_file then (a client cannot connect early to log in by rules a reload
        // has since revoked). Taken once: a reload during the password exchange cannot mix two snapshots' files.
        var snapshot = Pooler.Snapshot;
        var config = snapshot.Config;

        var user = startup["user"];
        if (string.IsNullOrEmpty(user))
        {
            Disconnect("no username supplied", SqlState.ProtocolViolation);
            return null;
        }
        var database = startup["database"];
        if (string.IsNullOrEmpty(database))
        {
            database = user;
        }
        (_loginDatabase, _loginUser, _peer) = (database, user, null);

        List<string>? unsupportedProtocolOptions = null;   // _pq_.* options, which almost no client sends
        if (!CheckStartupParameters(startup, config, ref unsupportedProtocolOptions, out var startupError))
        {
            Disconnect(startupError!, SqlState.ProtocolViolation);
            return null;
        }

        var isAdminConsole = database == Config.DatabaseEntry.AdminDatabaseName && !config.Databases.ContainsKey(database);
        if (isAdminConsole)
        {
            await RunAdminConsoleAsync(reader, snapshot, user, token).ConfigureAwait(false);
            return null;
        }

        if (!Pooler.TryAdmitClient(this))
        {
            if (Pooler.IsShuttingDown)
            {
                Disconnect("pooler is shutting down", SqlState.ProtocolViolation);
                return null;
            }
            Disconnect("no more connections allowed (max_client_conn)", SqlState.TooManyConnections);
            return null;
        }

        var dbEntry = Pooler.FindDatabase(database, config);
        var forcedUser = dbEntry is not null && !string.IsNullOrEmpty(dbEntry.User);
        var authResult = await AuthenticateAsync(reader, snapshot, user, forcedUser, token, dbEntry, database).ConfigureAwait(false);
        if (authResult is null)
        {
            return null;
        }
        if (dbEntry is null)
        {
            Disconnect($"no such database: {database}", SqlState.InvalidCatalogName);
            return null;
        }
        if (Pooler.IsDisabled(database))
        {
            Disconnect($"database \"{database}\" is disabled", SqlState.ProtocolViolation);
            return null;
        }

        config.Users.TryGetValue(forcedUser ? dbEntry.User! : user, out var userEntry);
        // The client limits count the login user, not a forced one (PgBouncer's global user of the login).
        if (!await AdmitWithinClientLimitsAsync(database, dbEntry.MaxDbClientConnections ?? config.MaxDbClientConnections,
            user, config.Users.GetValueOrDefault(user)?.MaxUserClientConnections ?? config.MaxUserClientConnections).ConfigureAwait(false))
        {
            return null;
        }
        var pool = Pooler.Pools.GetOrCreate(config, dbEntry, forcedUser ? dbEntry.User! : user, userEntry);
        if (authResult.ScramClientKey is { } clientKey && !forcedUser)
        {
            pool.ScramClientKey = clientKey;
        }
        if (_authQuerySecret is not null && !forcedUser)
        {
            pool.DynamicSecret = _authQuerySecret;
        }
        Pool = pool;
        PoolMode = pool.Settings.Mode;
        _trackStatements = PoolMode != PoolMode.Session && config.MaxPreparedStatements > 0;
        _trackSessionState = PoolMode == PoolMode.Transaction && config.PinSessionState;
        pool.ClientJoined();
        _joinedPool = true;
        pool.Stats.AddClientLogin();
        if (config.LogConnections)
        {
            Log.ClientLogin(Pooler.Logger, Peer, database, user, (_connection as TlsConnection)?.Description ?? "no", Replication.StartupValue());
        }
        if (Replication != ReplicationMode.None)
        {
            return await FinishReplicationLoginAsync(pool, config, startup, reader, authResult.PendingReply, unsupportedProtocolOptions, token).ConfigureAwait(false);
        }

        // The welcome carries the server's parameters, so a pool that never logged in opens a server first.
        if (pool.ServerParameters is null)
        {
            var server = await AcquireServerForWelcomeAsync(pool).ConfigureAwait(false);
            if (server is null)
            {
                return null;
            }
        }

        InitParameters(pool, startup);
        if (config.ApplicationNameAddHost)
        {
            AddHostToApplicationName();
        }
        (CancelProcessId, CancelSecretKey) = Pooler.Cancels.Register(this);
        await SendWelcomeAsync(pool, config, authResult.PendingReply, unsupportedProtocolOptions, startup.MinorVersion, token).ConfigureAwait(false);
        return reader.Leftover.ToArray();

        // The handshake replaces the connection; the login goes on with a reader over TLS.
        async Task<bool> StartTlsAsync(bool direct)
        {
            _connection.Detach();
            var (tls, tlsError) = await TlsHandshake.AcceptAsync(_socket, tlsOptions!, direct, token).ConfigureAwait(false);
            if (tls is null)
            {
                Log.PoolerError(Pooler.Logger, Peer, tlsError!);
                Disconnect(tlsError!, null);
                return false;
            }
            _connection = tls;
            reader = new LoginReader(tls, StartupCode.MaxStartupPacketLength);
            return true;
        }
    }

    /// <summary>
    /// The virtual "pgbouncer" database: authenticate like any client (the OS user's own Unix-socket login as
    /// "pgbouncer" needs no password, as in PgBouncer), check admin_users / stats_users, then run the console.
    /// The console is exempt from max_client_conn.
    /// </summary>
    private async Task RunAdminConsoleAsync(LoginReader reader, ConfigSnapshot snapshot, string user, CancellationToken token)
    {
        var config = snapshot.Config;
        var peerIsSelf = IsUnixSocket && user == Config.DatabaseEntry.AdminDatabaseName && Transport.PeerCredentials.IsSameUser(_socket);
        if (!peerIsSelf)
        {
            var authResult = await AuthenticateAsync(reader, snapshot, user, forcedUser: false, token, databaseName: Config.DatabaseEntry.AdminDatabaseName).ConfigureAwait(false);
            if (authResult is null)
            {
                return;
            }
            if (!authResult.PendingReply.IsEmpty)
            {
                await _connection.SendAsync(authResult.PendingReply, token).ConfigureAwait(false);
            }
        }
        var access = Admin.AdminAccess.Resolve(config, user, peerIsSelf);
        if (!await AdmitToConsoleAsync(config, user, peerIsSelf).ConfigureAwait(false))
        {
            return;
        }
        if (access == Admin.AdminAccessLevel.None)
        {
            Disconnect("not allowed", SqlState.InsufficientPrivilege);
            return;
        }
        (CancelProcessId, CancelSecretKey) = Pooler.Cancels.Register(this);
        _state = ClientState.Idle;
        await Admin.AdminConsole.RunAsync(Pooler, this, _connection, user, access, reader.Leftover.ToArray(), CancellationToken.None).ConfigureAwait(false);
    }

    private async Task<ServerConnection?> AcquireServerForWelcomeAsync(Pool pool)
    {
        ServerConnection server;
        try
        {
            server = await pool.AcquireAsync(this).ConfigureAwait(false);
        }
        catch (ServerLoginException e)
        {
            Disconnect(e.Error.Message, e.Error.SqlState);
            return null;
        }
        // Hand it straight back: the client has not asked for anything yet.
        if (server.TryUnlink(this, out _))
        {
            pool.Release(server, unused: true);
        }
        else
        {
            server.Close("unclean server at login");
        }
        return server;
    }

    private bool CheckStartupParameters(StartupPacket startup, PoolerConfig config, ref List<string>? unsupportedProtocolOptions, out string? error)
    {
        error = null;
        // Known first: a replication client's options go to its own server verbatim, whatever they set.
        Replication = ReplicationModes.Parse(startup["replication"]);
        foreach (var (key, value) in startup.Parameters)
        {
            switch (key)
            {
                case "user":
                case "database":
                case "application_name":
                    continue;
                case "replication":
                    continue;
                case "options" when Replication != ReplicationMode.None:
                    ReplicationOptions = value;
                    continue;
                case "options":
                    if (!CheckStartupOptions(value, config, out error))
                    {
                        return false;
                    }
                    continue;
            }
            if (key.StartsWith("_pq_.", StringComparison.Ordinal))
            {
                (unsupportedProtocolOptions ??= []).Add(key);
                continue;
            }
            if (Pooler.Tracked.IndexOf(key) >= 0 || Contains(config.IgnoreStartupParameters, key))
            {
                continue;
            }
            error = $"unsupported startup parameter: {key}";
            return false;
        }
        return true;
    }

    private static bool Contains(IReadOnlyList<string> list, string value)
    {
        foreach (var item in list)
        {
            if (string.Equals(item, value, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private void InitParameters(Pool pool, StartupPacket startup)
    {
        var tracked = Pooler.Tracked;
        var values = pool.Welcome(tracked) is { } welcome ? (string?[])welcome.ServerValues.Clone() : tracked.NewValues();
        foreach (var (name, value) in startup.Parameters)
        {
            if (name == "options")
            {
                ApplyStartupOptions(values);
                continue;
            }
            var index = tracked.IndexOf(name);
            if (index >= 0)
            {
                values[index] = value;
            }
        }
        Parameters = values;
    }

    /// <summary>application_name_add_host: " - host:port" is appended so the server shows where a session comes from.</summary>
    private void AddHostToApplicationName()
    {
        var index = Pooler.Tracked.IndexOf("application_name");
        var current = Parameters[index];
        var name = string.IsNullOrEmpty(current) ? "app" : current;
        Parameters[index] = $"{name} - {RemoteDescription}";
    }

    private async Task SendWelcomeAsync(Pool pool, PoolerConfig config, ReadOnlyMemory<byte> authReply, List<string>? unsupportedProtocolOptions, int requestedMinor, CancellationToken token,
        WelcomeParameters? welcome = null)
    {
        var b = new MessageBuilder(512);
        b.WriteBytes(authReply.Span);
        if (requestedMinor > 0 || unsupportedProtocolOptions is not null)
        {
            BackendMessages.WriteNegotiateProtocolVersion(b, 0, unsupportedProtocolOptions ?? []);
        }
        b.WriteBytes(Pregenerated.AuthenticationOk);
        (welcome ?? pool.Welcome(Pooler.Tracked))?.Write(b, Parameters);
        BackendMessages.WriteBackendKeyData(b, CancelProcessId, CancelSecretKey);
        if (config.LoginNotifyMessage is { Length: > 0 } notice)
        {
            BackendMessages.WriteError(b, "NOTICE", "00000", notice, notice: true);
        }
        b.WriteBytes(Pregenerated.ReadyForQueryIdle);
        await _connection.SendAsync(b.Written, token).ConfigureAwait(false);
    }
}
