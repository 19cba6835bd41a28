using System.Net;
using System.Net.Sockets;

namespace Sluice.Testing.FakePostgres;

/// <summary>The outcome of a client login: the welcome, or the error that ended it.</summary>
public sealed record PgLoginResult(
    bool Ok,
    IReadOnlyDictionary<string, string> Parameters,
    int ProcessId,
    int SecretKey,
    IReadOnlyDictionary<char, string>? Error);

/// <summary>
/// A raw-socket PostgreSQL client for fault tests: it does exactly what it is told on the wire, so a test can
/// observe every byte a pooler relays (Npgsql would hide partial results and retry or buffer).
/// </summary>
public sealed class PgTestClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly PgReader _reader;

    private PgTestClient(Socket socket)
    {
        _socket = socket;
        _reader = new PgReader(socket);
    }

    public static TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public PgLoginResult? Login { get; private set; }

    public static async Task<PgTestClient> ConnectAsync(EndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await socket.ConnectAsync(endPoint, cts.Token).ConfigureAwait(false);
        return new PgTestClient(socket);
    }

    /// <summary>Connects and logs in (trust auth); the result (welcome or error) is in <see cref="Login"/>.</summary>
    public static async Task<PgTestClient> LoginAsync(EndPoint endPoint, string user, string database, params (string Name, string Value)[] extra)
    {
        var client = await ConnectAsync(endPoint).ConfigureAwait(false);
        var parameters = new List<KeyValuePair<string, string>> { new("user", user), new("database", database) };
        parameters.AddRange(extra.Select(e => new KeyValuePair<string, string>(e.Name, e.Value)));
        await client.SendAsync(PgWire.Startup(parameters)).ConfigureAwait(false);
        await client.ReadLoginAsync().ConfigureAwait(false);
        return client;
    }

    /// <summary>Like <see cref="LoginAsync"/>, but throws unless the login succeeded.</summary>
    public static async Task<PgTestClient> LoginOkAsync(EndPoint endPoint, string user, string database, params (string Name, string Value)[] extra)
    {
        var client = await LoginAsync(endPoint, user, database, extra).ConfigureAwait(false);
        if (!client.Login!.Ok)
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException("login failed: " + string.Join(", ", client.Login.Error!.Select(f => $"{f.Key}={f.Value}")));
        }
        return client;
    }

    private async Task ReadLoginAsync()
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        int pid = 0, key = 0;
        while (true)
        {
            var message = await ReadAsync().ConfigureAwait(false);
            switch (message)
            {
                case null:
                    throw new InvalidOperationException("connection closed during login without an error");
                case { Code: 'R' }:
                    if (message.Body.Length < 4 || message.Body[3] != 0)
                    {
                        throw new InvalidOperationException($"the test client only does trust auth; got auth request {message.Body[3]}");
                    }
                    break;
                case { Code: 'S' }:
                    var (name, value) = message.ParameterStatus();
                    parameters[name] = value;
                    break;
                case { Code: 'K' }:
                    var values = PgWire.ParseBackendKeyData(message.Body);
                    (pid, key) = (values.Pid, values.Key);
                    break;
                case { Code: 'E' }:
                    Login = new PgLoginResult(false, parameters, pid, key, message.ErrorFields());
                    return;
                case { Code: 'Z' }:
                    Login = new PgLoginResult(true, parameters, pid, key, null);
                    return;
            }
        }
    }

    public Task SendAsync(ReadOnlyMemory<byte> bytes) => PgWire.SendAllAsync(_socket, bytes);

    public Task SendQueryAsync(string sql) => SendAsync(PgWire.Query(sql));

    /// <summary>The next message; null when the connection was closed. Throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task<PgMessage?> ReadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await _reader.ReadMessageAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no message from the server in time");
        }
    }

    /// <summary>Messages up to and including ReadyForQuery, or up to the connection's end (then the list has no 'Z').</summary>
    public async Task<List<PgMessage>> ReadUntilReadyAsync(TimeSpan? timeout = null)
    {
        var messages = new List<PgMessage>();
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            while (await _reader.ReadMessageAsync(cts.Token).ConfigureAwait(false) is { } message)
            {
                messages.Add(message);
                if (message.Code == 'Z')
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no ReadyForQuery in time; got: " + string.Join(" | ", messages));
        }
        return messages;
    }

    /// <summary>Sends a query and returns its reply messages (through ReadyForQuery).</summary>
    public async Task<List<PgMessage>> QueryAsync(string sql, TimeSpan? timeout = null)
    {
        await SendQueryAsync(sql).ConfigureAwait(false);
        return await ReadUntilReadyAsync(timeout).ConfigureAwait(false);
    }

    /// <summary>True when the connection is closed by the peer within <paramref name="timeout"/>.</summary>
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

    public async ValueTask DisposeAsync()
    {
        try
        {
            await SendAsync(PgWire.Terminate()).WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or TimeoutException)
        {
        }
        _socket.Dispose();
    }
}
