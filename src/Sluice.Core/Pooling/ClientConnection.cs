using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Sluice.Config;
using Sluice.Diagnostics;
using Sluice.Hosting;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Pooling;

/// <summary>
/// One client connection. Its loop reads client messages, gets a server when a transaction starts and
/// forwards the bytes as they came; the server's read loop sends the replies back and decides when the
/// transaction is over.
/// </summary>
internal sealed partial class ClientConnection
{
    private readonly Socket _socket;
    private Connection _connection;
    private volatile ClientState _state = ClientState.Login;
    private volatile ServerConnection? _server;
    private bool _trackStatements;   // transaction/statement pooling with max_prepared_statements > 0
    private bool _trackSessionState; // transaction pooling with pin_session_state
    private SessionState.SessionStateTracker? _sessionState;
    private long _pinnedSince;
    private int _closed;
    private string? _closeReason;
    private bool _closingLogged;
    private readonly System.Net.EndPoint? _remoteEndPoint;
    private string? _loginDatabase;   // as the startup packet named them, for Peer
    private string? _loginUser;
    private string? _peer;        // built on first use; two threads racing build the same text

    public ClientConnection(Pooler pooler, Socket socket, bool isUnixSocket)
    {
        Pooler = pooler;
        _socket = socket;
        _connection = IoEngine.Adopt(socket);
        IsUnixSocket = isUnixSocket;
        Id = pooler.SocketIds.Next();
        ConnectTimestamp = pooler.Time.GetTimestamp();
        // Kept as the object, formatted only when a log line or SHOW needs it: most logins never print it.
        _remoteEndPoint = isUnixSocket ? null : socket.RemoteEndPoint;
    }

    public long Id { get; }

    public Pooler Pooler { get; }

    public bool IsUnixSocket { get; }

    /// <summary>The byte stream to the client (TLS after a handshake): the admin console talks through it, SHOW CLIENTS reads its TLS details.</summary>
    internal Connection Connection => _connection;

    /// <summary>Log prefix, like PgBouncer's <c>C-0x…: db/user@host:port</c>.</summary>
    public string Peer => _peer ??= _loginUser is null ? $"C-{Id}: {RemoteDescription}" : $"C-{Id}: {_loginDatabase}/{_loginUser}@{RemoteDescription}";

    /// <summary>"host:port" of the client, or "unix".</summary>
    private string RemoteDescription => IsUnixSocket ? "unix" : _remoteEndPoint?.ToString() ?? "?";

    public ClientState State => _state;

    public Pool? Pool { get; private set; }

    public PoolMode PoolMode { get; private set; }

    public ServerConnection? Server => _server;

    public long ConnectTimestamp { get; }

    /// <summary>The client's values of the tracked parameters, re-applied to any server it is given.</summary>
    public string?[] Parameters { get; private set; } = [];

    public int CancelProcessId { get; private set; }

    public int CancelSecretKey { get; private set; }

    public TransactionStatus LastStatus { get; private set; } = TransactionStatus.Idle;

    /// <summary>True while the client holds session state: its server stays with it at the end of a transaction.</summary>
    public bool IsPinned => _sessionState?.IsPinned ?? false;

    /// <summary>Why the client is pinned (SHOW PINNED), or empty.</summary>
    public string PinReason => _sessionState is { IsPinned: true } state ? state.Describe() : "";

    /// <summary>This client's prepared statement names; touched only under its linked server's lock.</summary>
    internal Prepared.ClientStatements? Statements { get; set; }

    /// <summary>The max_db_client_connections / max_user_client_connections slots this client holds.</summary>
    internal (ConnectionCounter? Database, ConnectionCounter? User) ClientCounters { get; set; }

    /// <summary>When the client last sent anything (client_idle_timeout).</summary>
    public long LastActivityTimestamp { get; private set; }

    public async Task RunAsync()
    {
        var counted = false;
        try
        {
            var leftover = await LoginAsync().ConfigureAwait(false);
            if (leftover is null)
            {
                return;
            }
            counted = true;
            _state = _server is null ? ClientState.Idle : ClientState.Active;   // a replication client has its server from login on
            LastActivityTimestamp = Pooler.Time.GetTimestamp();   // client_idle_timeout counts from login
            await ForwardLoopAsync(leftover).ConfigureAwait(false);
        }
        catch (ProtocolViolationException e)
        {
            Disconnect(e.Message, SqlState.ProtocolViolation);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            Disconnect(e is OperationCanceledException ? "client_login_timeout" : "client unexpected eof", null);
        }
        catch (Exception e)
        {
            Log.UnexpectedError(Pooler.Logger, "client loop", e);
            Disconnect("internal error", SqlState.ProtocolViolation);
        }
        finally
        {
            Cleanup(counted);
        }
    }

    private async Task ForwardLoopAsync(byte[] leftover)
    {
        byte[]? buffer = null;
        var filled = 0;
        var skip = 0;
        var maxPacket = Pooler.Config.MaxPacketSize;
        var turns = new ReadTurns(Pooler.Config.SbufLoopcnt);
        var pool = Pool!;
        var output = default(PooledWriter);
        if (leftover.Length > 0)
        {
            buffer = BufferPool.Rent(Math.Max(BufferPool.DefaultSize, leftover.Length));
            leftover.CopyTo(buffer, 0);
            filled = leftover.Length;
        }
        try
        {
            var readMore = filled == 0;
            while (_closed == 0)
            {
                if (readMore)
                {
                    if (filled == 0)
                    {
                        BufferPool.Return(buffer);
                        buffer = null;
                        // Wait for the next query holding no buffer: idle clients cost no memory.
                        var wait = _connection.WaitForDataAsync();
                        if (!wait.IsCompleted)
                        {
                            turns.Waited();
                        }
                        await wait.ConfigureAwait(false);
                        buffer = BufferPool.Rent();
                    }
                    else if (filled == buffer!.Length)
                    {
                        buffer = BufferPool.Grow(buffer, filled, filled * 2);
                    }
                    var read = _connection.ReceiveReadyAsync(buffer.AsMemory(filled));
                    if (turns.ShouldYield(read.IsCompleted))
                    {
                        await Task.Yield();
                    }
                    var n = await read.ConfigureAwait(false);
                    if (n == 0)
                    {
                        Disconnect("client unexpected eof", null);
                        return;
                    }
                    filled += n;
                    LastActivityTimestamp = Pooler.Time.GetTimestamp();
                }
                readMore = true;

                // Scan the headers: count the messages that each expect a ReadyForQuery, note a Terminate.
                var pos = 0;
                var syncs = 0;
                var unsyncedTail = false;
                var terminate = false;
                var refCount = 0;
                var anyNamed = false;
                _batchKindCount = 0;
                // PgBouncer reads max_prepared_statements per message: SET takes effect on open clients too.
                _trackStatements = PoolMode != PoolMode.Session && Pooler.Config.MaxPreparedStatements > 0;
                while (pos < filled)
                {
                    if (skip > 0)
                    {
                        var take = Math.Min(skip, filled - pos);
                        pos += take;
                        skip -= take;
                        continue;
                    }
                    if (filled - pos < MessageHeader.Size)
                    {
                        break;
                    }
                    if (!MessageHeader.TryRead(buffer!.AsSpan(pos), maxPacket, out var code, out var size))
                    {
                        throw new ProtocolViolationException("invalid packet length");
                    }
                    if (_trackSessionState && code is FrontendCode.Query or FrontendCode.Parse)
                    {
                        if (filled - pos < size)
                        {
                            break;   // the whole text is needed to see what it does to the session
                        }
                        ObserveSessionState(code, buffer.AsSpan(pos + MessageHeader.Size, size - MessageHeader.Size));
                    }
                    if (_trackStatements)
                    {
                        var statementMessage = code is FrontendCode.Parse or FrontendCode.Bind or FrontendCode.Describe or FrontendCode.Close;
                        if (statementMessage && filled - pos < size)
                        {
                            break;   // rewriting needs the whole message: read the rest first
                        }
                        var named = statementMessage && Prepared.BatchRewriter.NamesStatement(code, buffer.AsSpan(pos + MessageHeader.Size, size - MessageHeader.Size));
                        AddMessageRef(ref _messageRefs, refCount++, new Prepared.MessageRef(pos, Math.Min(size, filled - pos), code, named));
                        anyNamed |= named;
                    }
                    switch (code)
                    {
                        case FrontendCode.Terminate:
                            terminate = true;
                            break;
                        case FrontendCode.Query when Pooler.Config.DisablePqexec:
                            Disconnect("PQexec disallowed", SqlState.ProtocolViolation);
                            return;
                        default:
                            FrontendBatch.Observe(code, ref syncs, ref unsyncedTail);
                            NoteBatchKind(code);
                            break;
                    }
                    if (terminate)
                    {
                        break;
                    }
                    var available = filled - pos;
                    if (size > available)
                    {
                        skip = size - available;
                        pos = filled;
                    }
                    else
                    {
                        pos += size;
                    }
                }

                // Every await of a transaction's life is here, in this long-lived loop, whose state machine is
                // allocated once per connection: helper async methods would box a state per suspension.
                var server = pos > 0 ? _server : null;
                while (pos > 0)
                {
                    if (server is null)
                    {
                        var pending = pool.AcquireAsync(this);
                        var waited = !pending.IsCompleted;
                        try
                        {
                            server = await pending.ConfigureAwait(false);
                        }
                        catch (ServerLoginException e)
                        {
                            Disconnect(e.Error.Message, e.Error.SqlState);
                            return;
                        }
                        pool.Stats.AddServerAssignment(waited ? Pooler.Time.GetElapsedTime(WaitStartTimestamp).Ticks / TimeSpan.TicksPerMicrosecond : 0);
                        _state = ClientState.Active;
                        if ((NeedsCheck(server) && !await CheckServerAsync(server).ConfigureAwait(false))
                            || (ParametersDiffer(server) && !await SyncParametersAsync(server).ConfigureAwait(false)))
                        {
                            server = null;
                            continue;
                        }
                        _server = server;
                    }
                    var outcome = PrepareBatch(server, buffer!.AsMemory(0, pos), syncs, unsyncedTail, refCount, anyNamed, ref output, out var toSend);
                    if (outcome == ForwardResult.Released)
                    {
                        // Released by its ReadyForQuery a moment ago: this is a new transaction.
                        Interlocked.CompareExchange(ref _server, null, server);
                        server = null;
                        continue;
                    }
                    if (outcome == ForwardResult.Failed)
                    {
                        return;
                    }
                    server.Pool.Stats.AddReceived(toSend.Length);
                    try
                    {
                        var send = server.SendAsync(toSend);
                        if (!send.IsCompletedSuccessfully)
                        {
                            await send.ConfigureAwait(false);
                        }
                    }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
                    {
                        server.Close("server conn crashed?");
                        Disconnect("server conn crashed?", SqlState.ConnectionFailure);
                        return;
                    }
                    finally
                    {
                        output.Dispose();
                        output = default;
                    }
                    if (anyNamed && !await SendOrphanFakesAsync(server).ConfigureAwait(false))
                    {
                        return;
                    }
                    break;
                }
                if (terminate)
                {
                    Disconnect("client close request", null);
                    return;
                }
                if (pos < filled)
                {
                    buffer!.AsSpan(pos, filled - pos).CopyTo(buffer);
                }
                filled -= pos;
            }
        }
        finally
        {
            BufferPool.Return(buffer);
            if (_messageRefs is not null)
            {
                System.Buffers.ArrayPool<Prepared.MessageRef>.Shared.Return(_messageRefs);
                _messageRefs = null;
            }
        }
    }

    private Prepared.MessageRef[]? _messageRefs;

    /// <summary>Follows session state in a Query or Parse text and counts pins and pinned time.</summary>
    private void ObserveSessionState(byte code, ReadOnlySpan<byte> body)
    {
        var sql = body;
        if (code == FrontendCode.Parse)
        {
            var nameEnd = body.IndexOf((byte)0);
            sql = nameEnd < 0 ? default : body[(nameEnd + 1)..];
        }
        var end = sql.IndexOf((byte)0);
        if (end >= 0)
        {
            sql = sql[..end];
        }
        var state = _sessionState ??= new SessionState.SessionStateTracker(Pooler.Tracked);
        var wasPinned = state.IsPinned;
        state.Observe(sql);
        if (state.IsPinned != wasPinned)
        {
            OnPinChanged(state.IsPinned);
        }
    }

    private void OnPinChanged(bool pinned)
    {
        var stats = Pool!.Stats;
        if (pinned)
        {
            stats.AddPin();
            _pinnedSince = Pooler.Time.GetTimestamp();
        }
        else if (_pinnedSince != 0)
        {
            stats.AddPinnedTime(Pooler.Time.GetElapsedTime(_pinnedSince).Ticks / TimeSpan.TicksPerMicrosecond);
            _pinnedSince = 0;
        }
    }

    private static void AddMessageRef(ref Prepared.MessageRef[]? refs, int index, Prepared.MessageRef item)
    {
        var pool = System.Buffers.ArrayPool<Prepared.MessageRef>.Shared;
        refs ??= pool.Rent(16);
        if (index == refs.Length)
        {
            var bigger = pool.Rent(refs.Length * 2);
            refs.AsSpan().CopyTo(bigger);
            pool.Return(refs);
            refs = bigger;
        }
        refs[index] = item;
    }

    private enum ForwardResult
    {
        Sent,
        Failed,
        Released,
    }

    /// <summary>
    /// The synchronous part of forwarding a batch: accounts for it on the server and, with prepared-statement
    /// tracking, rewrites it. <paramref name="toSend"/> is the batch itself or the rewritten copy in <paramref name="output"/>.
    /// </summary>
    private ForwardResult PrepareBatch(ServerConnection server, ReadOnlyMemory<byte> data, int syncs, bool unsyncedTail, int refCount,
        bool anyNamed, ref PooledWriter output, out ReadOnlyMemory<byte> toSend)
    {
        toSend = data;
        if (!_trackStatements)
        {
            return server.TryAccountForward(this, syncs, unsyncedTail) ? ForwardResult.Sent : ForwardResult.Released;
        }
        if (!server.TracksStatements)
        {
            // max_prepared_statements was raised at run time: servers opened before start tracking now.
            server.EnableStatementTracking();
        }
        if (anyNamed)
        {
            output = new PooledWriter(data.Length + 256);
        }
        if (!server.TryAccountTrackedForward(this, syncs, unsyncedTail, data.Span, _messageRefs.AsSpan(0, refCount), anyNamed, ref output, out var rewritten, out var error))
        {
            return ForwardResult.Released;
        }
        if (error is not null)
        {
            if (Statements?.RefusedName is { } refused)
            {
                Log.PreparedNameReused(Pooler.Logger, Peer, refused);
            }
            server.Close(error);
            Disconnect(error, SqlState.ProtocolViolation);
            return ForwardResult.Failed;
        }
        if (rewritten)
        {
            toSend = output.Written;
        }
        return ForwardResult.Sent;
    }

    /// <summary>A Close of a statement answered by Sluice alone, with nothing outstanding before it, is answered now.</summary>
    private async ValueTask<bool> SendOrphanFakesAsync(ServerConnection server)
    {
        var fakes = new PooledWriter(16);
        try
        {
            return !server.TakeLeadingFakes(ref fakes, onlyIfNothingElse: true) || await SendFromServerAsync(fakes.Written).ConfigureAwait(false);
        }
        finally
        {
            fakes.Dispose();
        }
    }

    private bool NeedsCheck(ServerConnection server)
    {
        var config = Pooler.Config;
        return !string.IsNullOrEmpty(config.ServerCheckQuery) && server.IdleSinceTimestamp != 0
            && Pooler.Time.GetElapsedTime(server.IdleSinceTimestamp) >= config.ServerCheckDelay;
    }

    private bool ParametersDiffer(ServerConnection server)
    {
        var serverValues = server.Parameters;
        for (var i = 0; i < Parameters.Length; i++)
        {
            if (Parameters[i] is { } wanted && !string.Equals(wanted, serverValues[i], StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// A server idle longer than server_check_delay runs server_check_query before reuse, so a connection that
    /// died while idle is replaced instead of failing the client's query.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> CheckServerAsync(ServerConnection server)
    {
        var config = Pooler.Config;
        var idleSince = server.IdleSinceTimestamp;
        if (string.IsNullOrEmpty(config.ServerCheckQuery) || idleSince == 0
            || Pooler.Time.GetElapsedTime(idleSince) < config.ServerCheckDelay)
        {
            return true;
        }
        // "<empty>" means an empty query: the cheapest round trip PostgreSQL answers.
        var sql = config.ServerCheckQuery == "<empty>" ? "" : config.ServerCheckQuery;
        var error = await server.RunInternalQueryAsync(sql).ConfigureAwait(false);
        if (error is not null)
        {
            server.Close("server check query failed: " + error.Value.Message);
            return false;
        }
        server.ReturnToClient(this);
        return true;
    }

    /// <summary>Sets the client's tracked parameters on the server where they differ (PgBouncer's varcache).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SyncParametersAsync(ServerConnection server)
    {
        StringBuilder? sql = null;
        var names = Pooler.Tracked.Names;
        var serverValues = server.Parameters;
        for (var i = 0; i < names.Length; i++)
        {
            var wanted = Parameters[i];
            if (wanted is not null && !string.Equals(wanted, serverValues[i], StringComparison.OrdinalIgnoreCase))
            {
                sql ??= new StringBuilder();
                sql.Append("SET ").Append(names[i]).Append('=').Append(QuoteLiteral(wanted)).Append(';');
            }
        }
        if (sql is null)
        {
            return true;
        }
        var text = sql.ToString();
        Log.VarcacheApply(Pooler.Logger, server.Peer, text);
        var error = await server.RunInternalQueryAsync(text).ConfigureAwait(false);
        if (error is not null)
        {
            server.Close("invalid server parameter: " + error.Value.Message);
            return false;
        }
        TakeCanonicalParameters(server);
        server.ReturnToClient(this);
        return true;
    }

    /// <summary>
    /// After a SET the server holds the value in its own spelling ("ISO" becomes "ISO, MDY") and may not report
    /// it when nothing changed; the client takes that spelling so the next sync does not SET the same thing again.
    /// </summary>
    private void TakeCanonicalParameters(ServerConnection server)
    {
        var names = Pooler.Tracked.Names;
        var serverValues = server.Parameters;
        for (var i = 0; i < names.Length; i++)
        {
            if (Parameters[i] is { } clientValue && serverValues[i] is { } serverValue && !string.Equals(clientValue, serverValue, StringComparison.Ordinal))
            {
                Log.VarcacheSetCanonical(Pooler.Logger, Peer, names[i], clientValue, serverValue);
                Parameters[i] = serverValue;
            }
        }
    }

    private static string QuoteLiteral(string value) => "'" + value.Replace("'", "''").Replace("\\", "\\\\") + "'";

    /// <summary>Replies from the linked server's read loop. False when the client is gone.</summary>
    public ValueTask<bool> SendFromServerAsync(ReadOnlyMemory<byte> data)
    {
        if (_closed != 0)
        {
            return new ValueTask<bool>(false);
        }
        ValueTask pending;
        try
        {
            pending = _connection.SendAsync(data);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            return new ValueTask<bool>(false);
        }
        if (pending.IsCompletedSuccessfully)
        {
            return new ValueTask<bool>(true);
        }
        return AwaitSend(pending);

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        static async ValueTask<bool> AwaitSend(ValueTask pending)
        {
            try
            {
                await pending.ConfigureAwait(false);
                return true;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                return false;
            }
        }
    }

    public void OnReadyForQuery(TransactionStatus status) => LastStatus = status;

    public void OnServerReleased(ServerConnection server)
    {
        if (Interlocked.CompareExchange(ref _server, null, server) == server && _closed == 0)
        {
            _state = ClientState.Idle;
        }
    }

    public void OnTrackedParameterChanged(int index, string value)
    {
        if ((uint)index < (uint)Parameters.Length)
        {
            Parameters[index] = value;
        }
    }

    /// <summary>The linked server died: the client is told and disconnected, as PgBouncer does.</summary>
    public void OnServerLost(ServerConnection server, string reason)
    {
        if (_server == server)
        {
            Disconnect(reason, SqlState.ConnectionFailure);
        }
    }

    /// <summary>True once <see cref="Disconnect"/> ran: the loop has not cleaned up yet, but the client is gone for SHOW and KILL_CLIENT.</summary>
    public bool IsDisconnecting => Volatile.Read(ref _closed) != 0;

    /// <summary>
    /// The single exit of a client connection: sends a FATAL error when <paramref name="sqlState"/> is given,
    /// logs the reason once and closes the socket. The loop's cleanup then returns or closes its server.
    /// </summary>
    public void Disconnect(string reason, string? sqlState, string? detail = null)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        _closeReason = reason;
        if (sqlState is not null)
        {
            // Logged before the client can read why, as PgBouncer does (also for a client that never got in), and
            // before a queued client's loop is woken to clean up.
            LogClosing();
        }
        // A client queued for a server is taken out of the queue, so its loop wakes up and cleans up now.
        if (_state == ClientState.Waiting && Pool is { } pool && pool.CancelWait(this))
        {
            FailWait(new ServerLoginException(new ErrorFields("FATAL", sqlState ?? SqlState.AdminShutdown, reason)));
        }
        if (sqlState is not null)
        {
            var config = Pooler.Config;
            if (config.LogPoolerErrors)
            {
                Log.PoolerError(Pooler.Logger, Peer, reason);
            }
            var b = new MessageBuilder(64 + reason.Length);
            BackendMessages.WriteError(b, "FATAL", sqlState, reason, detail: detail);
            _connection.TrySendFinal(b.Written.Span);
        }
        _connection.Close();
    }

    /// <summary>The "closing because" line, once per client.</summary>
    private void LogClosing()
    {
        if (!_closingLogged && Pooler.Config.LogDisconnections)
        {
            _closingLogged = true;
            Log.ClientClosing(Pooler.Logger, Peer, _closeReason ?? "client close request", (long)Pooler.Time.GetElapsedTime(ConnectTimestamp).TotalSeconds);
        }
    }

    private void Cleanup(bool counted)
    {
        // First, so that a client connecting right after this one left finds its slot free.
        Hosting.Pooler.ReleaseClientLimits(this);
        Disconnect(_closeReason ?? "client close request", null);
        _state = ClientState.Closed;
        var pool = Pool;
        if (pool is not null)
        {
            pool.CancelWait(this);
        }
        var server = _server;
        _server = null;
        if (server is not null)
        {
            ReturnOrCloseServer(server);
        }
        if (CancelProcessId != 0)
        {
            Pooler.Cancels.Remove(this);
        }
        if (_pinnedSince != 0)
        {
            OnPinChanged(false);
        }
        if (_joinedPool)
        {
            pool?.ClientLeft();
        }
        if (counted)
        {
            LogClosing();
        }
        Pooler.ClientClosed(this);
    }

    /// <summary>A leaving client never hands a dirty server to the next one: clean ones are reset or released, others closed.</summary>
    private void ReturnOrCloseServer(ServerConnection server)
    {
        if (server.Replication != ReplicationMode.None)
        {
            CloseReplicationServer(server);
            return;
        }
        var clean = server.TryUnlink(this, out var wasLinked);
        if (!wasLinked)
        {
            return;
        }
        if (!clean)
        {
            server.Close("client disconnected with query in progress");
            return;
        }
        // A pinned session left state behind: the next client must get a clean server.
        if (PoolMode == PoolMode.Session || Pooler.Config.ServerResetQueryAlways || _sessionState is { EverPinned: true })
        {
            _ = server.ResetThenReleaseAsync();
        }
        else
        {
            server.Pool.Release(server);
        }
    }
}
