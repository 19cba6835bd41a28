using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using Sluice.Testing.Wire;

namespace Sluice.Testing.FakePostgres;

/// <summary>One accepted connection of <see cref="FakePostgresServer"/>, driven by a test script.</summary>
public sealed class FakeServerConnection
{
    private readonly FakePostgresServer _server;
    private readonly Socket _socket;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ConcurrentQueue<PgMessage> _received = new();
    private readonly TaskCompletionSource _scriptDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IReadOnlyDictionary<string, string> _startup = new Dictionary<string, string>();
    private int _closed;

    internal FakeServerConnection(FakePostgresServer server, Socket socket, int id, CancellationToken token)
    {
        _server = server;
        _socket = socket;
        Id = id;
        Token = token;
        Reader = new PgReader(new NetworkStream(socket, ownsSocket: false));
    }

    /// <summary>1-based accept order (cancel connections count too).</summary>
    public int Id { get; }

    public FakePostgresServer Server => _server;

    /// <summary>Cancelled when the fake server is disposed.</summary>
    public CancellationToken Token { get; }

    internal PgReader Reader { get; }

    /// <summary>The StartupMessage parameters, in the spelling the client used (lookups are case-sensitive like PostgreSQL's).</summary>
    public IReadOnlyDictionary<string, string> StartupParameters => _startup;

    public int ProtocolVersion { get; private set; }

    /// <summary>Every typed message read so far (queries, Terminate, ...), in order.</summary>
    public IReadOnlyList<PgMessage> Received => [.. _received];

    /// <summary>The SQL of every Query read so far.</summary>
    public IReadOnlyList<string> Queries => [.. _received.Where(m => m.Type == 'Q').Select(m => m.Text)];

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Completes when the script has returned (or thrown).</summary>
    public Task ScriptDone => _scriptDone.Task;

    internal void SetStartup(byte[] body)
    {
        ProtocolVersion = BinaryPrimitives.ReadInt32BigEndian(body);
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        var pos = 4;
        while (pos < body.Length && body[pos] != 0)
        {
            var key = PgWire.ReadCString(body, pos, out pos);
            parameters[key] = PgWire.ReadCString(body, pos, out pos);
        }
        _startup = parameters;
    }

    internal void MarkScriptDone() => _scriptDone.TrySetResult();

    /// <summary>
    /// The StartupMessage parameters. The server already read the packet (answering SSLRequest with 'N'
    /// and routing CancelRequests elsewhere) before the script started, so this completes at once.
    /// </summary>
    public Task<IReadOnlyDictionary<string, string>> ReadStartupAsync() => Task.FromResult(_startup);

    // ---- sending ----

    public Task SendRawAsync(byte[] bytes) => SendRawAsync(bytes.AsMemory());

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes)
    {
        await _sendLock.WaitAsync(Token).ConfigureAwait(false);
        try
        {
            await PgWire.SendAllAsync(_socket, bytes, Token).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends <paramref name="bytes"/> in chunks of the given size, each its own send (NoDelay: its own segment), with an optional pause between.</summary>
    public async Task SendInChunksAsync(ReadOnlyMemory<byte> bytes, int chunkSize, TimeSpan pause = default)
    {
        for (var i = 0; i < bytes.Length; i += chunkSize)
        {
            await SendRawAsync(bytes.Slice(i, Math.Min(chunkSize, bytes.Length - i))).ConfigureAwait(false);
            if (pause > TimeSpan.Zero)
            {
                await Task.Delay(pause, Token).ConfigureAwait(false);
            }
        }
    }

    public Task SendAuthOkAsync() => SendRawAsync(PgWire.AuthenticationOk());

    public Task SendParameterStatusAsync(string name, string value) => SendRawAsync(PgWire.ParameterStatus(name, value));

    public Task SendBackendKeyDataAsync(int processId, int secretKey) => SendRawAsync(PgWire.BackendKeyData(processId, secretKey));

    public Task SendReadyForQueryAsync(char status = 'I') => SendRawAsync(PgWire.ReadyForQuery(status));

    public Task SendErrorAsync(string severity, string sqlState, string message) => SendRawAsync(PgWire.Error(severity, sqlState, message));

    public Task SendNoticeAsync(string message) => SendRawAsync(PgWire.Error("NOTICE", "00000", message, notice: true));

    public Task SendRowDescriptionAsync(string column = "?column?") => SendRawAsync(PgWire.RowDescription(column));

    public Task SendDataRowAsync(string? value) => SendRawAsync(PgWire.DataRow(value));

    public Task SendCommandCompleteAsync(string tag) => SendRawAsync(PgWire.CommandComplete(tag));

    /// <summary>A one-column text result: RowDescription, one DataRow per value, CommandComplete "SELECT n".</summary>
    public async Task SendResultAsync(string column, params string?[] values)
    {
        var bytes = new List<byte>(PgWire.RowDescription(column));
        foreach (var value in values)
        {
            bytes.AddRange(PgWire.DataRow(value));
        }
        bytes.AddRange(PgWire.CommandComplete($"SELECT {values.Length}"));
        await SendRawAsync(bytes.ToArray()).ConfigureAwait(false);
    }

    /// <summary>The usual login reply: AuthenticationOk, ParameterStatus set, BackendKeyData, ReadyForQuery('I').</summary>
    public async Task CompleteLoginAsync(int processId, int secretKey, IEnumerable<KeyValuePair<string, string>>? parameters = null)
    {
        var bytes = new List<byte>(PgWire.AuthenticationOk());
        foreach (var (name, value) in parameters ?? DefaultParameters)
        {
            bytes.AddRange(PgWire.ParameterStatus(name, value));
        }
        bytes.AddRange(PgWire.BackendKeyData(processId, secretKey));
        bytes.AddRange(PgWire.ReadyForQuery('I'));
        await SendRawAsync(bytes.ToArray()).ConfigureAwait(false);
    }

    /// <summary>The GUC_REPORT parameters a PostgreSQL 16 server sends at login (enough for libpq and Npgsql).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> DefaultParameters { get; } =
    [
        new("application_name", ""),
        new("client_encoding", "UTF8"),
        new("DateStyle", "ISO, MDY"),
        new("default_transaction_read_only", "off"),
        new("in_hot_standby", "off"),
        new("integer_datetimes", "on"),
        new("IntervalStyle", "postgres"),
        new("is_superuser", "off"),
        new("server_encoding", "UTF8"),
        new("server_version", "16.4"),
        new("session_authorization", "fake"),
        new("standard_conforming_strings", "on"),
        new("TimeZone", "UTC"),
    ];

    // ---- reading ----

    /// <summary>Reads the next typed message; null when the peer closed the connection.</summary>
    public async Task<PgMessage?> ReadMessageAsync()
    {
        var message = await Reader.ReadMessageAsync(Token).ConfigureAwait(false);
        if (message is not null)
        {
            _received.Enqueue(message);
        }
        return message;
    }

    /// <summary>Reads the next message, which must be a simple Query; returns its SQL.</summary>
    /// <exception cref="FakePeerClosedException">The peer closed the connection (or sent Terminate).</exception>
    /// <exception cref="InvalidDataException">Another message came.</exception>
    public async Task<string> ExpectQueryAsync()
    {
        var message = await ReadMessageAsync().ConfigureAwait(false);
        return message switch
        {
            null => throw new FakePeerClosedException("connection closed while a Query was expected"),
            { Type: 'X' } => throw new FakePeerClosedException("Terminate received while a Query was expected"),
            { Type: 'Q' } => message.Text,
            _ => throw new InvalidDataException($"expected Query, got {message}"),
        };
    }

    /// <summary>True when the peer closes the connection within <paramref name="timeout"/> (anything it sends meanwhile is read and recorded).</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        cts.CancelAfter(timeout);
        try
        {
            while (await Reader.ReadMessageAsync(cts.Token).ConfigureAwait(false) is { } message)
            {
                _received.Enqueue(message);
            }
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (InvalidDataException)
        {
            return await Reader.WaitForEofAsync(cts.Token).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for a CancelRequest on a new connection to the same fake server.</summary>
    public Task<FakeCancelRequest> WaitForCancelRequestAsync(TimeSpan? timeout = null) =>
        _server.WaitForCancelRequestAsync(timeout, Token);

    // ---- scripts ----

    /// <summary>
    /// Answers simple queries until the peer leaves: <paramref name="respond"/> gets each SQL text and sends the
    /// whole reply (ending with ReadyForQuery). Without it every query gets a one-row result "1" and
    /// ReadyForQuery('I'). Returns when the peer sends Terminate or closes.
    /// </summary>
    public async Task ServeQueriesAsync(Func<FakeServerConnection, string, Task>? respond = null)
    {
        while (await ReadMessageAsync().ConfigureAwait(false) is { } message)
        {
            switch (message.Type)
            {
                case 'X':
                    Close();
                    return;
                case 'Q':
                    var sql = message.Text;
                    if (respond is not null)
                    {
                        await respond(this, sql).ConfigureAwait(false);
                    }
                    else
                    {
                        await SendResultAsync("?column?", "1").ConfigureAwait(false);
                        await SendReadyForQueryAsync('I').ConfigureAwait(false);
                    }
                    break;
                default:
                    throw new InvalidDataException($"the fake serves simple queries only; got {message}");
            }
        }
        Close();
    }

    // ---- closing ----

    /// <summary>Closes with a TCP RST (SO_LINGER 0): no FIN, unsent data dropped, like a crashed backend.</summary>
    public void CloseAbruptly()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        _socket.Dispose();
    }

    /// <summary>Orderly close (FIN).</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        _socket.Dispose();
    }

    public override string ToString() =>
        $"fake#{Id} user={StartupParameters.GetValueOrDefault("user")} database={StartupParameters.GetValueOrDefault("database")}";
}
