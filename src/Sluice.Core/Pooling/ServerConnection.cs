using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Sluice.Config;
using Sluice.Diagnostics;
using Sluice.Pooling.Prepared;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Pooling;

/// <summary>
/// One connection to PostgreSQL. Its read loop runs for the connection's whole life: it forwards replies
/// to the linked client as slices of one rented buffer, reads only the headers (and the bodies of
/// ReadyForQuery and ParameterStatus), and releases the server at the end of a transaction.
/// </summary>
internal sealed partial class ServerConnection
{
    private readonly Socket _socket;
    private Connection _connection;
    private readonly object _stateLock = new();
    private volatile ServerState _state = ServerState.Login;
    private volatile ClientConnection? _client;
    private int _pendingSyncs;            // Query/Sync/FunctionCall sent whose ReadyForQuery has not come back
    private bool _unsynced;               // extended-protocol messages sent after the last Sync
    private readonly SyncKindQueue _sentKinds = new();   // the order of those, with CopyDone/CopyFail marks
    private bool _copyIn;                 // the server is in COPY FROM STDIN (CopyInResponse seen)
    private bool _copyStartedByQuery;     // ... started by a simple Query, whose ReadyForQuery is still due
    private TransactionStatus _status = TransactionStatus.Idle;
    private int _closed;
    private long _queryStart;             // timestamp of the oldest query awaiting its ReadyForQuery
    private long _xactStart;              // timestamp of the first query after the server was idle
    private long _lastReady;              // timestamp of the last ReadyForQuery
    private TaskCompletionSource<ErrorFields?>? _internalQuery;
    private ErrorFields? _internalError;

    private ServerConnection(Pool pool, Connection connection, string peer)
    {
        Pool = pool;
        _socket = connection.Socket;
        _connection = connection;
        Id = pool.Pooler.SocketIds.Next();
        Peer = $"S-{Id}: {peer}";
        Parameters = pool.Pooler.Tracked.NewValues();
        Generation = pool.Generation;
        ConnectTimestamp = pool.Pooler.Time.GetTimestamp();
    }

    public long Id { get; }

    public Pool Pool { get; }

    /// <summary>Log prefix, like PgBouncer's <c>S-0x…: db/user@host:port</c>.</summary>
    public string Peer { get; }

    public ServerState State => _state;

    /// <summary>The byte stream to PostgreSQL (TLS per server_tls_sslmode), for SHOW SERVERS' tls column.</summary>
    internal Connection Connection => _connection;

    public ClientConnection? Client => _client;

    public int BackendProcessId { get; private set; }

    public int BackendSecretKey { get; private set; }

    public long ConnectTimestamp { get; }

    /// <summary>The pool generation this server was opened in; RECONNECT starts a new one.</summary>
    public int Generation { get; }

    public long IdleSinceTimestamp { get; private set; }

    /// <summary>Current values of the tracked parameters on this server, indexed like <see cref="TrackedParameters"/>.</summary>
    public string?[] Parameters { get; }

    public IReadOnlyList<KeyValuePair<string, string>> StartupParameters { get; private set; } = [];

    /// <summary>Where this server was reached; a cancel request opens a new connection to the same place.</summary>
    public System.Net.EndPoint ConnectEndPoint { get; private init; } = null!;

    /// <summary>Links the server to a client; called under the pool lock.</summary>
    public void LinkTo(ClientConnection client)
    {
        lock (_stateLock)
        {
            _client = client;
            _pendingSyncs = 0;
            _unsynced = false;
            _sentKinds.Clear();
            _copyIn = false;
            _state = ServerState.Active;
        }
    }

    /// <summary>What the janitor needs to apply query, transaction and idle-in-transaction timeouts.</summary>
    public ServerActivity Activity
    {
        get
        {
            lock (_stateLock)
            {
                return new ServerActivity(_pendingSyncs, _unsynced, _status, _queryStart, _xactStart, _lastReady);
            }
        }
    }

    public void MarkIdle(long timestamp)
    {
        IdleSinceTimestamp = timestamp;
        _state = ServerState.Idle;
    }

    /// <summary>
    /// Accounts for client messages about to be forwarded. False when the server was released in between
    /// (its ReadyForQuery ended the transaction first): the caller must get another server.
    /// </summary>
    public bool TryAccountForward(ClientConnection client, int syncs, bool unsyncedTail)
    {
        lock (_stateLock)
        {
            return AccountLocked(client, syncs, unsyncedTail);
        }
    }

    private bool AccountLocked(ClientConnection client, int syncs, bool unsyncedTail)
    {
        {
            if (_client != client || _state != ServerState.Active)
            {
                return false;
            }
            if (syncs > 0 && _pendingSyncs == 0)
            {
                _queryStart = Pool.Pooler.Time.GetTimestamp();
                if (_status == TransactionStatus.Idle)
                {
                    _xactStart = _queryStart;
                }
            }
            _pendingSyncs += syncs;
            foreach (var kind in client.BatchKinds)
            {
                _sentKinds.Push(kind);
            }
            if (syncs > 0)
            {
                _unsynced = unsyncedTail;
            }
            else if (unsyncedTail)
            {
                _unsynced = true;
            }
            return true;
        }
    }

    /// <summary>
    /// Unlinks the server from a leaving client. Returns true when the server is clean (reusable), false when a
    /// query or transaction was in progress and the server must be closed.
    /// </summary>
    public bool TryUnlink(ClientConnection client, out bool wasLinked)
    {
        lock (_stateLock)
        {
            wasLinked = _client == client && _state == ServerState.Active;
            if (!wasLinked)
            {
                return false;
            }
            _client = null;
            var clean = _pendingSyncs == 0 && !_unsynced && _status == TransactionStatus.Idle;
            _state = ServerState.Internal;
            return clean;
        }
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken token = default) => _connection.SendAsync(data, token);

    /// <summary>
    /// Runs a query of Sluice's own (reset query, SET for tracked parameters) and swallows its replies.
    /// Returns the server's error, or null on success. The server must not be linked to a client.
    /// </summary>
    public Task<ErrorFields?> RunInternalQueryAsync(string sql)
    {
        var b = new MessageBuilder();
        FrontendMessages.WriteQuery(b, sql);
        return RunInternalAsync(b, captureRows: false);
    }

    /// <summary>
    /// auth_query: runs <paramref name="sql"/> with <c>$1</c> = <paramref name="parameter"/> through the extended
    /// protocol (no quoting of the user name into SQL) and returns the first row's text columns.
    /// </summary>
    public async Task<(ErrorFields? Error, string?[]? Row)> RunAuthQueryAsync(string sql, string parameter)
    {
        var b = new MessageBuilder();
        FrontendMessages.WriteParse(b, sql);
        FrontendMessages.WriteBindOneTextParameter(b, parameter);
        FrontendMessages.WriteExecute(b);
        FrontendMessages.WriteSync(b);
        var error = await RunInternalAsync(b, captureRows: true).ConfigureAwait(false);
        var row = _internalRows is { Count: > 0 } rows ? rows[0] : null;
        _internalRows = null;
        return (error, row);
    }

    private List<string?[]>? _internalRows;

    private async Task<ErrorFields?> RunInternalAsync(MessageBuilder b, bool captureRows)
    {
        var done = new TaskCompletionSource<ErrorFields?>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_stateLock)
        {
            if (_state == ServerState.Closed)
            {
                return new ErrorFields("FATAL", SqlState.ConnectionFailure, "server closed");
            }
            _internalError = null;
            _internalRows = captureRows ? [] : null;
            _internalQuery = done;
            _state = ServerState.Internal;
        }
        try
        {
            await SendAsync(b.Written).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Close("server conn crashed?");
        }
        return await done.Task.ConfigureAwait(false);
    }

    private static string?[] ParseDataRow(ReadOnlySpan<byte> body)
    {
        var count = System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(body);
        var values = new string?[count];
        var rest = body[2..];
        for (var i = 0; i < count; i++)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(rest);
            rest = rest[4..];
            if (length >= 0)
            {
                values[i] = System.Text.Encoding.UTF8.GetString(rest[..length]);
                rest = rest[length..];
            }
        }
        return values;
    }

    /// <summary>Hands a server that ran a query for a client's login (auth_query) back to its pool.</summary>
    public void ReleaseAfterInternal()
    {
        lock (_stateLock)
        {
            if (_state == ServerState.Closed)
            {
                return;
            }
            _client = null;
        }
        Pool.Release(this);
    }

    /// <summary>Puts a server that ran an internal query back under a client's ownership.</summary>
    public void ReturnToClient(ClientConnection client)
    {
        lock (_stateLock)
        {
            if (_state != ServerState.Closed)
            {
                _client = client;
                _state = ServerState.Active;
            }
        }
    }

    /// <summary>The single exit of a server connection: logs the reason once, frees its slot in the pool.</summary>
    public void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        reason = ReplicationCloseReason(reason);
        TaskCompletionSource<ErrorFields?>? internalQuery;
        lock (_stateLock)
        {
            _state = ServerState.Closed;
            _client = null;
            internalQuery = _internalQuery;
            _internalQuery = null;
        }
        var pooler = Pool.Pooler;
        if (pooler.Config.LogDisconnections)
        {
            Log.ServerClosing(pooler.Logger, Peer, reason, (long)pooler.Time.GetElapsedTime(ConnectTimestamp).TotalSeconds);
        }
        // Terminate lets PostgreSQL end the backend without logging an unexpected EOF.
        _connection.TrySendFinal(Pregenerated.Terminate);
        _connection.Close();
        internalQuery?.TrySetResult(new ErrorFields("FATAL", SqlState.ConnectionFailure, reason));
        Pool.OnServerClosed(this);
    }

    private void DisposeSocketOnly() => _connection.Close();

    private void RememberParameter(string name, string value)
    {
        var index = Pool.Pooler.Tracked.IndexOf(name);
        if (index >= 0)
        {
            Parameters[index] = value;
        }
    }

    private void StartReading() => _ = ReadLoopAsync();

    private async Task ReadLoopAsync()
    {
        byte[]? buffer = null;
        var filled = 0;
        var skip = 0;   // body bytes of a message already passed on whose rest is still arriving
        var maxPacket = Pool.Pooler.Config.MaxPacketSize;
        var turns = new ReadTurns(Pool.Pooler.Config.SbufLoopcnt);
        string? closeReason = null;
        try
        {
            while (closeReason is null)
            {
                if (filled == 0)
                {
                    BufferPool.Return(buffer);
                    buffer = null;
                    // Wait for data without holding a buffer: an idle server costs no memory.
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
                    closeReason = _state == ServerState.Idle ? "server closed the connection while idle" : "server conn crashed?";
                    break;
                }
                filled += n;

                var pos = 0;
                var forwardFrom = 0;
                while (pos < filled && closeReason is null)
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
                    if (!MessageHeader.TryRead(buffer.AsSpan(pos), maxPacket, out var code, out var size))
                    {
                        closeReason = "server sent an invalid packet length";
                        break;
                    }
                    var state = _state;
                    var needBody = code is BackendCode.ReadyForQuery or BackendCode.ParameterStatus
                        || (state != ServerState.Active && code == BackendCode.ErrorResponse)
                        || (state == ServerState.Internal && code == BackendCode.DataRow && _internalRows is not null)
                        || (TracksStatements && code is BackendCode.ParseComplete or BackendCode.CloseComplete or BackendCode.CommandComplete);
                    if (needBody && filled - pos < size)
                    {
                        if (size > buffer.Length)
                        {
                            // Forward what precedes the message, then make room for the whole of it.
                            if (forwardFrom < pos && !await ForwardToClientAsync(buffer, forwardFrom, pos).ConfigureAwait(false))
                            {
                                closeReason = "client disconnected with query in progress";
                                break;
                            }
                            buffer.AsSpan(pos, filled - pos).CopyTo(buffer);
                            filled -= pos;
                            pos = forwardFrom = 0;
                            buffer = BufferPool.Grow(buffer, filled, size);
                        }
                        break;
                    }

                    if (state == ServerState.Active)
                    {
                        // Only a COPY's start, and its end while one is open, take the state lock: a CommandComplete
                        // of an ordinary query passes by on the flag (set by this loop alone).
                        if (code is BackendCode.CopyInResponse or BackendCode.CopyBothResponse
                            || (_copyIn && code is BackendCode.CommandComplete or BackendCode.ErrorResponse))
                        {
                            TrackCopyIn(code);
                        }
                        if (TracksStatements)
                        {
                            var action = TrackReply(code, buffer.AsSpan(pos, Math.Min(size, filled - pos)));
                            if (action == ReplyAction.FakesFirst)
                            {
                                if (!await FlushThenFakesAsync(buffer, forwardFrom, pos).ConfigureAwait(false))
                                {
                                    closeReason = "client disconnected with query in progress";
                                    break;
                                }
                                forwardFrom = pos;
                                action = TrackReply(code, buffer.AsSpan(pos, Math.Min(size, filled - pos)));   // the fakes are gone: a real head now
                            }
                            if (action == ReplyAction.Swallow)
                            {
                                // The reply to a message Sluice injected: everything before it goes, it does not.
                                if (forwardFrom < pos && !await ForwardToClientAsync(buffer, forwardFrom, pos).ConfigureAwait(false))
                                {
                                    closeReason = "client disconnected with query in progress";
                                    break;
                                }
                                pos += size;
                                forwardFrom = pos;
                                continue;
                            }
                        }
                        if (code == BackendCode.ReadyForQuery)
                        {
                            var status = (TransactionStatus)buffer[pos + 5];
                            pos += size;
                            closeReason = await OnReadyForQueryAsync(buffer, forwardFrom, pos, status).ConfigureAwait(false);
                            forwardFrom = pos;
                            continue;
                        }
                        if (code == BackendCode.ParameterStatus)
                        {
                            OnParameterStatus(buffer.AsSpan(pos + 5, size - 5));
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
                        continue;
                    }

                    // Not linked: nothing is forwarded.
                    closeReason = OnUnlinkedMessage(state, code, buffer.AsSpan(pos, Math.Min(size, filled - pos)));
                    var rest = filled - pos;
                    if (size > rest)
                    {
                        skip = size - rest;
                        pos = filled;
                    }
                    else
                    {
                        pos += size;
                    }
                    forwardFrom = pos;
                }

                if (closeReason is null && _state == ServerState.Active)
                {
                    var fakes = TracksStatements && HasLeadingFakes();
                    if (fakes ? !await FlushThenFakesAsync(buffer, forwardFrom, pos).ConfigureAwait(false)
                              : forwardFrom < pos && !await ForwardToClientAsync(buffer, forwardFrom, pos).ConfigureAwait(false))
                    {
                        closeReason = "client disconnected with query in progress";
                    }
                }
                // Keep only a partial message; usually nothing is left and the buffer goes back to the pool.
                if (pos < filled)
                {
                    buffer.AsSpan(pos, filled - pos).CopyTo(buffer);
                }
                filled -= pos;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            closeReason ??= _closed != 0 ? "closed" : "server conn crashed?";
        }
        catch (Exception e)
        {
            Log.UnexpectedError(Pool.Pooler.Logger, "server read loop", e);
            closeReason ??= "internal error";
        }
        finally
        {
            BufferPool.Return(buffer);
        }
        OnReadLoopEnded(closeReason ?? "closed");
    }

    /// <summary>
    /// Follows COPY FROM STDIN: PostgreSQL drops the Syncs it reads during the copy, so when the copy ends
    /// (CommandComplete or ErrorResponse) those no longer wait for a ReadyForQuery, as in PgBouncer.
    /// </summary>
    private void TrackCopyIn(byte code)
    {
        lock (_stateLock)
        {
            if (code is BackendCode.CopyInResponse or BackendCode.CopyBothResponse)
            {
                _copyIn = true;
                _copyStartedByQuery = _sentKinds.Peek() == SyncKindQueue.Query;
            }
            else if (_copyIn)
            {
                _copyIn = false;
                _pendingSyncs = Math.Max(0, _pendingSyncs - _sentKinds.DropSyncsSentDuringCopy(keepHead: _copyStartedByQuery));
            }
        }
    }

    private void OnReadLoopEnded(string reason)
    {
        var client = _client;
        Close(reason);
        // A client whose server died mid-query is told and disconnected, as PgBouncer does.
        client?.OnServerLost(this, reason);
    }

    private ValueTask<bool> ForwardToClientAsync(byte[] buffer, int from, int to)
    {
        var client = _client;
        if (client is null)
        {
            return new ValueTask<bool>(true);
        }
        Pool.Stats.AddSent(to - from);
        return client.SendFromServerAsync(buffer.AsMemory(from, to - from));
    }

    /// <summary>Forwards the pending bytes, then the made-up replies now due, in that order.</summary>
    private async ValueTask<bool> FlushThenFakesAsync(byte[] buffer, int from, int to)
    {
        if (from < to && !await ForwardToClientAsync(buffer, from, to).ConfigureAwait(false))
        {
            return false;
        }
        var writer = new PooledWriter(64);
        try
        {
            if (!TakeLeadingFakes(ref writer, onlyIfNothingElse: false) || _client is not { } client)
            {
                return true;
            }
            return await client.SendFromServerAsync(writer.Written).ConfigureAwait(false);
        }
        finally
        {
            writer.Dispose();
        }
    }

    private long Microseconds(long start, long end) =>
        start == 0 ? 0 : Pool.Pooler.Time.GetElapsedTime(start, end).Ticks / TimeSpan.TicksPerMicrosecond;

    /// <summary>
    /// Forwards everything up to and including a ReadyForQuery, then decides whether the transaction is over
    /// and the server goes back to the pool. Returns a close reason, or null.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<string?> OnReadyForQueryAsync(byte[] buffer, int from, int to, TransactionStatus status)
    {
        var now = Pool.Pooler.Time.GetTimestamp();
        long queryStart, xactStart;
        lock (_stateLock)
        {
            if (_pendingSyncs > 0)
            {
                _pendingSyncs--;
            }
            _sentKinds.PopAnswered();
            _status = status;
            queryStart = _queryStart;
            xactStart = _xactStart;
            _queryStart = now;   // the next pipelined query's time starts now
            _lastReady = now;
        }
        var stats = Pool.Stats;
        stats.AddQuery(Microseconds(queryStart, now));
        if (status == TransactionStatus.Idle)
        {
            stats.AddTransaction(Microseconds(xactStart, now));
        }
        var client = _client;
        if (client is null)
        {
            return null;
        }
        var mode = client.PoolMode;
        if (mode == PoolMode.Statement && status != TransactionStatus.Idle)
        {
            // The client must never believe it is inside a transaction: everything before this ReadyForQuery
            // goes out, the ReadyForQuery itself is replaced by the FATAL, as PgBouncer does.
            const int readyForQuerySize = 6;
            if (to - readyForQuerySize > from)
            {
                await client.SendFromServerAsync(buffer.AsMemory(from, to - readyForQuerySize - from)).ConfigureAwait(false);
            }
            // The server goes first: once the client is gone, its cleanup would race to close the server
            // as "client disconnected with query in progress".
            const string reason = "transaction blocks not allowed in statement pooling mode";
            Close(reason);
            client.Disconnect(reason, SqlState.FeatureNotSupported);
            return reason;
        }
        client.OnReadyForQuery(status);
        stats.AddSent(to - from);
        if (!await client.SendFromServerAsync(buffer.AsMemory(from, to - from)).ConfigureAwait(false))
        {
            return "client disconnected with query in progress";
        }
        if (mode == PoolMode.Session)
        {
            return null;
        }
        bool release;
        lock (_stateLock)
        {
            release = _pendingSyncs == 0 && !_unsynced && _status == TransactionStatus.Idle && _client == client && _expectations.Count == 0
                && !client.IsPinned;
            if (release)
            {
                _client = null;
                _state = ServerState.Internal;
            }
        }
        if (release)
        {
            client.OnServerReleased(this);
            if (Pool.Pooler.Config.ServerResetQueryAlways && !string.IsNullOrEmpty(Pool.Pooler.Config.ServerResetQuery))
            {
                _ = ResetThenReleaseAsync();
            }
            else
            {
                Pool.Release(this);
            }
        }
        return null;
    }

    /// <summary>Runs server_reset_query before a server is reused (session pooling, or reset_query_always).</summary>
    public async Task ResetThenReleaseAsync()
    {
        var sql = Pool.Pooler.Config.ServerResetQuery;
        if (!string.IsNullOrEmpty(sql))
        {
            var error = await RunInternalQueryAsync(sql).ConfigureAwait(false);
            if (error is not null)
            {
                Close("reset query failed: " + error.Value.Message);
                return;
            }
            // DISCARD ALL (or whatever the reset does) may have dropped prepared statements: forget them all.
            Statements.Clear();
        }
        Pool.Release(this);
    }

    private void OnParameterStatus(ReadOnlySpan<byte> body)
    {
        var (name, value) = ParseParameterStatus(body);
        var index = Pool.Pooler.Tracked.IndexOf(name);
        if (index >= 0)
        {
            Parameters[index] = value;
            // The client changed it (SET TimeZone …): remember it as the client's own value too.
            _client?.OnTrackedParameterChanged(index, value);
        }
    }

    /// <summary>Replies that arrive while no client is linked: internal queries, or a server saying goodbye.</summary>
    private string? OnUnlinkedMessage(ServerState state, byte code, ReadOnlySpan<byte> message)
    {
        if (state == ServerState.Internal)
        {
            switch (code)
            {
                case BackendCode.ErrorResponse:
                    _internalError ??= ErrorFields.Parse(message[5..]);
                    break;
                case BackendCode.DataRow when _internalRows is not null:
                    _internalRows.Add(ParseDataRow(message[5..]));
                    break;
                case BackendCode.ParameterStatus:
                    var (name, value) = ParseParameterStatus(message[5..]);
                    RememberParameter(name, value);
                    break;
                case BackendCode.ReadyForQuery:
                    TaskCompletionSource<ErrorFields?>? done;
                    lock (_stateLock)
                    {
                        _status = (TransactionStatus)message[5];
                        done = _internalQuery;
                        _internalQuery = null;
                    }
                    done?.TrySetResult(_internalError);
                    break;
            }
            return null;
        }
        return code switch
        {
            BackendCode.NoticeResponse or BackendCode.NotificationResponse => null,
            BackendCode.ParameterStatus => RememberAndContinue(message),
            BackendCode.ErrorResponse => "server sent an error while idle: " + ErrorFields.Parse(message[5..]).Message,
            _ => $"server sent unexpected message '{(char)code}' while idle",
        };
    }

    private string? RememberAndContinue(ReadOnlySpan<byte> message)
    {
        var (name, value) = ParseParameterStatus(message[5..]);
        RememberParameter(name, value);
        return null;
    }
}
