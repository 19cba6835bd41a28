using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Sluice.Testing.Wire;

/// <summary>
/// A raw-socket PostgreSQL v3 client that does exactly what it is told on the wire: well-formed logins (trust,
/// cleartext, md5) and queries, hand-built extended-protocol messages, or anything at all (lying lengths, half
/// packets, garbage), so a test sees every byte the pooler relays, swallows or makes up. Every read is bounded
/// by a timeout, so a pooler that hangs fails the test instead of hanging it.
/// </summary>
public sealed class RawPgClient : IAsyncDisposable
{
    /// <summary>How long a read waits for a message by default.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long a query's reply may take by default (real PostgreSQL on a busy machine included).</summary>
    public static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long <see cref="ReadUntilClosedAsync"/> waits by default: the hostile tests read "closed" as "closed
    /// within this", so it stays shorter than <see cref="DefaultTimeout"/>.
    /// </summary>
    public static readonly TimeSpan DefaultCloseTimeout = TimeSpan.FromSeconds(5);

    private readonly NetworkStream _stream;
    private readonly PgReader _reader;
    private readonly Dictionary<string, string> _parameters = new(StringComparer.Ordinal);

    private RawPgClient(Socket socket)
    {
        Socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new PgReader(_stream);
    }

    public Socket Socket { get; }

    /// <summary>The outcome of <see cref="StartupAsync"/>, once it ran.</summary>
    public PgLoginResult? Login { get; private set; }

    /// <summary>ParameterStatus values received so far.</summary>
    public IReadOnlyDictionary<string, string> Parameters => _parameters;

    public int BackendPid { get; private set; }

    public int BackendKey { get; private set; }

    /// <summary>The status byte of the last ReadyForQuery read by a login or query.</summary>
    public char TransactionStatus { get; private set; }

    /// <summary>Opens a TCP connection to 127.0.0.1:<paramref name="port"/>; nothing is sent.</summary>
    public static Task<RawPgClient> ConnectAsync(int port, int? receiveBufferSize = null) =>
        ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), receiveBufferSize);

    /// <summary>Opens a TCP or Unix-socket connection; nothing is sent.</summary>
    public static async Task<RawPgClient> ConnectAsync(EndPoint endPoint, int? receiveBufferSize = null, TimeSpan? timeout = null)
    {
        var socket = endPoint.AddressFamily == AddressFamily.Unix
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferSize is { } size)
        {
            // Set before connect so the advertised window is small from the start.
            socket.ReceiveBufferSize = size;
        }
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await socket.ConnectAsync(endPoint, cts.Token).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new RawPgClient(socket);
    }

    /// <summary>Connects and logs in; the outcome (welcome or ErrorResponse) is in <see cref="Login"/>.</summary>
    public static Task<RawPgClient> LoginAsync(
        int port, string user, string database, string? password = null,
        IEnumerable<KeyValuePair<string, string>>? parameters = null, int? receiveBufferSize = null, TimeSpan? timeout = null) =>
        LoginAsync(new IPEndPoint(IPAddress.Loopback, port), user, database, password, parameters, receiveBufferSize, timeout);

    /// <inheritdoc cref="LoginAsync(int, string, string, string?, IEnumerable{KeyValuePair{string, string}}?, int?, TimeSpan?)"/>
    public static async Task<RawPgClient> LoginAsync(
        EndPoint endPoint, string user, string database, string? password = null,
        IEnumerable<KeyValuePair<string, string>>? parameters = null, int? receiveBufferSize = null, TimeSpan? timeout = null)
    {
        var client = await ConnectAsync(endPoint, receiveBufferSize, timeout).ConfigureAwait(false);
        try
        {
            using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
            await client.StartupAsync(user, database, password, parameters, cts.Token).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Like <see cref="LoginAsync(int, string, string, string?, IEnumerable{KeyValuePair{string, string}}?, int?, TimeSpan?)"/>, but a refused login throws <see cref="RawPgException"/>.</summary>
    public static Task<RawPgClient> LoginOkAsync(
        int port, string user, string database, string? password = null,
        IEnumerable<KeyValuePair<string, string>>? parameters = null, int? receiveBufferSize = null, TimeSpan? timeout = null) =>
        LoginOkAsync(new IPEndPoint(IPAddress.Loopback, port), user, database, password, parameters, receiveBufferSize, timeout);

    /// <inheritdoc cref="LoginOkAsync(int, string, string, string?, IEnumerable{KeyValuePair{string, string}}?, int?, TimeSpan?)"/>
    public static async Task<RawPgClient> LoginOkAsync(
        EndPoint endPoint, string user, string database, string? password = null,
        IEnumerable<KeyValuePair<string, string>>? parameters = null, int? receiveBufferSize = null, TimeSpan? timeout = null)
    {
        var client = await LoginAsync(endPoint, user, database, password, parameters, receiveBufferSize, timeout).ConfigureAwait(false);
        if (client.Login!.Error is { } error)
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw new RawPgException(error);
        }
        return client;
    }

    /// <summary>
    /// Sends a StartupMessage and answers the authentication request (trust, cleartext or md5, which is all the test
    /// poolers ask for) up to ReadyForQuery or an ErrorResponse.
    /// </summary>
    public async Task<PgLoginResult> StartupAsync(
        string user, string database, string? password = null,
        IEnumerable<KeyValuePair<string, string>>? parameters = null, CancellationToken token = default)
    {
        await SendAsync(PgWire.Startup([new("user", user), new("database", database), .. parameters ?? []])).ConfigureAwait(false);
        while (true)
        {
            var message = await _reader.ReadMessageAsync(token).ConfigureAwait(false)
                ?? throw new InvalidOperationException("connection closed during login without an error");
            switch (message.Type)
            {
                case 'R' when message.AuthCode == 0:
                case 'N':
                    break;
                case 'R' when message.AuthCode is 3 or 5:
                    if (password is null)
                    {
                        throw new InvalidOperationException($"the server asked for authentication {message.AuthCode} but no password was given");
                    }
                    var answer = message.AuthCode == 3 ? password : "md5" + Md5Response(user, password, message.Body.AsSpan(4, 4));
                    await SendAsync(PgWire.Message('p', PgWire.CString(answer))).ConfigureAwait(false);
                    break;
                case 'R':
                    throw new NotSupportedException($"RawPgClient does not answer authentication request {message.AuthCode}");
                case 'S':
                    var (name, value) = message.ParameterStatus();
                    _parameters[name] = value;
                    break;
                case 'K':
                    (BackendPid, BackendKey) = PgWire.ParseBackendKeyData(message.Body);
                    break;
                case 'E':
                    return Login = new PgLoginResult(false, Parameters, BackendPid, BackendKey, message.Fields);
                case 'Z':
                    TransactionStatus = message.TransactionStatus;
                    return Login = new PgLoginResult(true, Parameters, BackendPid, BackendKey, null);
                default:
                    throw new InvalidOperationException($"unexpected during login: {message}");
            }
        }
    }

    // ---- sending ----

    public Task SendAsync(byte[] data) => SendAsync(data.AsMemory());

    /// <summary>Sends several messages in one write.</summary>
    public Task SendAsync(params byte[][] messages) => SendAsync((byte[])[.. messages.SelectMany(m => m)]);

    public async Task SendAsync(ReadOnlyMemory<byte> data)
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await _stream.WriteAsync(data, cts.Token).ConfigureAwait(false);
    }

    public Task TrySendAsync(byte[] data) => TrySendAsync(data.AsMemory());

    /// <summary>Sends, ignoring a connection the pooler already closed (it may refuse before reading everything).</summary>
    public async Task TrySendAsync(ReadOnlyMemory<byte> data)
    {
        try
        {
            await SendAsync(data).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Sends a simple Query without reading the answer (e.g. to leave a statement running).</summary>
    public Task SendQueryAsync(string sql) => SendAsync(PgWire.Query(sql));

    /// <summary>Sends a simple Query and reads its reply (see <see cref="ReadUntilReadyAsync"/>).</summary>
    public async Task<RawQueryResult> QueryAsync(string sql, TimeSpan? timeout = null)
    {
        await SendQueryAsync(sql).ConfigureAwait(false);
        return await ReadUntilReadyAsync(timeout).ConfigureAwait(false);
    }

    // ---- reading ----

    /// <summary>The next message; null when the connection was closed. Throws <see cref="TimeoutException"/> when nothing complete arrives in time.</summary>
    /// <exception cref="InvalidDataException">The bytes do not start a message (the header's length is impossible).</exception>
    public async Task<PgMessage?> ReadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await _reader.ReadMessageAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no complete message from the server within {(timeout ?? DefaultTimeout).TotalSeconds:F1}s");
        }
    }

    /// <summary>Reads one raw byte (the answer to SSLRequest/GSSENCRequest); -1 on EOF.</summary>
    public async Task<int> ReadByteAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await _reader.ReadByteAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no byte from the server in time");
        }
    }

    /// <summary>
    /// Every message up to and including ReadyForQuery, or up to the connection's end (then the result has no 'Z'):
    /// after a FATAL error it waits for the close, so a test also sees anything sent after the FATAL.
    /// ParameterStatus and notices are kept.
    /// </summary>
    public async Task<RawQueryResult> ReadUntilReadyAsync(TimeSpan? timeout = null)
    {
        var messages = new List<PgMessage>();
        using var cts = new CancellationTokenSource(timeout ?? QueryTimeout);
        try
        {
            while (await _reader.ReadMessageAsync(cts.Token).ConfigureAwait(false) is { } message)
            {
                messages.Add(message);
                if (message.Type == 'Z')
                {
                    TransactionStatus = message.TransactionStatus;
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no ReadyForQuery in time; got: " + PgWire.Show(messages));
        }
        return new RawQueryResult(messages);
    }

    /// <summary>
    /// Replies up to and including the next ReadyForQuery (or a FATAL error), without ParameterStatus and notices,
    /// so an extended-protocol test can compare the reply types exactly. End of stream first throws.
    /// </summary>
    public async Task<List<PgMessage>> ReadRepliesAsync(TimeSpan? timeout = null)
    {
        var list = new List<PgMessage>();
        using var cts = new CancellationTokenSource(timeout ?? QueryTimeout);
        while (true)
        {
            var m = await ReadReplyAsync(list, cts.Token).ConfigureAwait(false);
            if (m.Type == 'Z' || (m.Type == 'E' && m.Field('S') == "FATAL"))
            {
                return list;
            }
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> replies (ParameterStatus and notices dropped).</summary>
    public async Task<List<PgMessage>> ReadCountAsync(int count, TimeSpan? timeout = null)
    {
        var list = new List<PgMessage>();
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (list.Count < count)
        {
            await ReadReplyAsync(list, cts.Token).ConfigureAwait(false);
        }
        return list;
    }

    /// <summary>Collects messages until the pooler closes the connection, or <paramref name="timeout"/> passes.</summary>
    public async Task<Outcome> ReadUntilClosedAsync(TimeSpan? timeout = null)
    {
        var outcome = new Outcome();
        var sw = Stopwatch.StartNew();
        var deadline = timeout ?? DefaultCloseTimeout;
        while (true)
        {
            var left = deadline - sw.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                break;
            }
            try
            {
                var m = await ReadAsync(left).ConfigureAwait(false);
                if (m is null)
                {
                    outcome.Closed = true;
                    break;
                }
                outcome.Messages.Add(m);
            }
            catch (TimeoutException)
            {
                break;
            }
            catch (InvalidDataException)
            {
                // Not a backend message: count the bytes and keep reading until EOF.
                outcome.UnparsedBytes += _reader.DiscardBuffered();
            }
        }
        outcome.UnparsedBytes += _reader.DiscardBuffered();
        outcome.Elapsed = sw.Elapsed;
        return outcome;
    }

    /// <summary>True when the peer closes the connection (EOF or reset) within <paramref name="timeout"/>; whatever it sends meanwhile is dropped.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        return await _reader.WaitForEofAsync(cts.Token).ConfigureAwait(false);
    }

    /// <summary>Sends a CancelRequest on a new connection and waits for that connection to be closed.</summary>
    public static async Task SendCancelAsync(EndPoint endPoint, int processId, int secretKey)
    {
        await using var client = await ConnectAsync(endPoint).ConfigureAwait(false);
        await client.SendAsync(PgWire.CancelRequest(processId, secretKey)).ConfigureAwait(false);
        await client.WaitForCloseAsync(DefaultTimeout).ConfigureAwait(false);
    }

    // ---- closing ----

    public void ShutdownSend()
    {
        try
        {
            Socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
        }
    }

    /// <summary>Resets the connection (SO_LINGER 0): the peer sees a reset, no Terminate message.</summary>
    public void Abort()
    {
        try
        {
            Socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        Socket.Dispose();
    }

    /// <summary>Says goodbye with Terminate when logged in (a polite client), then closes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Login is { Ok: true })
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await _stream.WriteAsync(PgWire.Terminate(), cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
        await _stream.DisposeAsync().ConfigureAwait(false);
        Socket.Dispose();
    }

#pragma warning disable CA5351 // MD5 is what the PostgreSQL protocol uses
    /// <summary>The hex digest of an md5 PasswordMessage (without its "md5" prefix).</summary>
    public static string Md5Response(string user, string password, ReadOnlySpan<byte> salt)
    {
        var inner = Convert.ToHexString(MD5.HashData(Encoding.UTF8.GetBytes(password + user))).ToLowerInvariant();
        return Convert.ToHexString(MD5.HashData([.. Encoding.ASCII.GetBytes(inner), .. salt])).ToLowerInvariant();
    }
#pragma warning restore CA5351

    private async Task<PgMessage> ReadReplyAsync(List<PgMessage> list, CancellationToken token)
    {
        while (true)
        {
            var m = await _reader.ReadMessageAsync(token).ConfigureAwait(false)
                ?? throw new EndOfStreamException("the server closed the connection; got: " + PgWire.Show(list));
            if (m.Type is not ('S' or 'N'))
            {
                list.Add(m);
                return m;
            }
        }
    }
}
