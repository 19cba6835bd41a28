using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Sluice.Testing;

namespace Sluice.IntegrationTests.Hostile;

/// <summary>One backend message as received by <see cref="HostileClient"/>.</summary>
public sealed record PgMessage(char Type, byte[] Body)
{
    /// <summary>For 'R' messages: the authentication request code (0 = AuthenticationOk).</summary>
    public int AuthCode => Type == 'R' && Body.Length >= 4 ? BinaryPrimitives.ReadInt32BigEndian(Body) : -1;

    /// <summary>For 'E'/'N' messages: the fields by code.</summary>
    public IReadOnlyDictionary<char, string> Fields
    {
        get
        {
            var fields = new Dictionary<char, string>();
            var pos = 0;
            while (pos < Body.Length && Body[pos] != 0)
            {
                var code = (char)Body[pos++];
                var end = Array.IndexOf(Body, (byte)0, pos);
                if (end < 0)
                {
                    break;
                }
                fields[code] = Encoding.UTF8.GetString(Body, pos, end - pos);
                pos = end + 1;
            }
            return fields;
        }
    }

    public override string ToString() => Type is 'E' or 'N'
        ? $"{Type}[{string.Join(", ", Fields.Select(f => $"{f.Key}={f.Value}"))}]"
        : Type == 'R' ? $"R[{AuthCode}]" : $"{Type}({Body.Length} bytes)";
}

/// <summary>What came back from the pooler until it closed the connection (or the time ran out).</summary>
public sealed class Outcome
{
    public List<PgMessage> Messages { get; } = new();

    /// <summary>True when the pooler closed the connection (EOF or reset) within the time allowed.</summary>
    public bool Closed { get; set; }

    /// <summary>Raw bytes that did not parse as backend messages (e.g. a single 'N' answer to SSLRequest).</summary>
    public int UnparsedBytes { get; set; }

    public TimeSpan Elapsed { get; set; }

    public PgMessage? Error => Messages.FirstOrDefault(m => m.Type == 'E');

    public bool LoggedIn => Messages.Any(m => m.AuthCode == 0 || m.Type == 'Z');

    public override string ToString() =>
        $"closed={Closed} after {Elapsed.TotalSeconds:F2}s, unparsed={UnparsedBytes}, messages=[{string.Join("; ", Messages)}]";
}

/// <summary>
/// A raw-socket PostgreSQL client that can send anything: lying lengths, half packets, garbage, out-of-order
/// messages. Every read is bounded by a timeout so a pooler that hangs fails the test instead of hanging it.
/// </summary>
public sealed class HostileClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private bool _eof;

    private HostileClient(Socket socket)
    {
        Socket = socket;
    }

    public Socket Socket { get; }

    public static async Task<HostileClient> ConnectAsync(int port, int? receiveBufferSize = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferSize is { } size)
        {
            // Set before connect so the advertised window is small from the start.
            socket.ReceiveBufferSize = size;
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new HostileClient(socket);
    }

    /// <summary>Connects and logs in with md5 (or trust/cleartext) up to ReadyForQuery.</summary>
    public static async Task<HostileClient> LoginAsync(int port, string user = PostgresInstance.AppUser, string password = PostgresInstance.AppPassword,
        string database = PostgresInstance.AppDatabase, int? receiveBufferSize = null)
    {
        var c = await ConnectAsync(port, receiveBufferSize);
        try
        {
            await c.SendAsync(Packets.Startup(("user", user), ("database", database)));
            while (true)
            {
                var m = await c.ReadMessageAsync() ?? throw new InvalidOperationException("EOF during login");
                switch (m.Type)
                {
                    case 'R' when m.AuthCode == 5:
                        await c.SendAsync(Packets.Typed('p', Packets.CString("md5" + Md5Response(user, password, m.Body.AsSpan(4, 4)))));
                        break;
                    case 'R' when m.AuthCode == 3:
                        await c.SendAsync(Packets.Typed('p', Packets.CString(password)));
                        break;
                    case 'R' when m.AuthCode == 0:
                    case 'S':
                    case 'K':
                    case 'N':
                        break;
                    case 'Z':
                        return c;
                    default:
                        throw new InvalidOperationException($"unexpected during login: {m}");
                }
            }
        }
        catch
        {
            await c.DisposeAsync();
            throw;
        }
    }

    public Task SendAsync(byte[] data) => SendAsync(data.AsMemory());

    public Task TrySendAsync(byte[] data) => TrySendAsync(data.AsMemory());

    public async Task SendAsync(ReadOnlyMemory<byte> data)
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        var sent = 0;
        while (sent < data.Length)
        {
            sent += await Socket.SendAsync(data[sent..], SocketFlags.None, cts.Token);
        }
    }

    /// <summary>Sends, ignoring a connection the pooler already closed (it may refuse before reading everything).</summary>
    public async Task TrySendAsync(ReadOnlyMemory<byte> data)
    {
        try
        {
            await SendAsync(data);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Reads one message; null on EOF/reset. Throws <see cref="TimeoutException"/> when nothing complete arrives in time.</summary>
    public async Task<PgMessage?> ReadMessageAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            if (!await FillAsync(5, cts.Token))
            {
                return null;
            }
            var type = (char)_buffer[_start];
            var length = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(_start + 1));
            if (length < 4 || length > _buffer.Length - 1)
            {
                throw new InvalidOperationException($"the pooler sent an impossible message header: type {(int)type}, length {length}");
            }
            if (!await FillAsync(length + 1, cts.Token))
            {
                return null;
            }
            var body = _buffer.AsSpan(_start + 5, length - 4).ToArray();
            _start += length + 1;
            return new PgMessage(type, body);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no complete message from the pooler within {(timeout ?? DefaultTimeout).TotalSeconds:F1}s");
        }
    }

    /// <summary>Reads one raw byte (the answer to SSLRequest/GSSENCRequest); -1 on EOF.</summary>
    public async Task<int> ReadByteAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            if (!await FillAsync(1, cts.Token))
            {
                return -1;
            }
            return _buffer[_start++];
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no byte from the pooler in time");
        }
    }

    /// <summary>Collects messages until the pooler closes the connection, or <paramref name="timeout"/> passes.</summary>
    public async Task<Outcome> ReadUntilClosedAsync(TimeSpan? timeout = null)
    {
        var outcome = new Outcome();
        var sw = Stopwatch.StartNew();
        var deadline = timeout ?? DefaultTimeout;
        while (true)
        {
            var left = deadline - sw.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                break;
            }
            try
            {
                var m = await ReadMessageAsync(left);
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
            catch (InvalidOperationException)
            {
                // Not a backend message: count the bytes and keep reading until EOF.
                outcome.UnparsedBytes += _end - _start;
                _start = _end;
            }
        }
        outcome.UnparsedBytes += _end - _start;
        outcome.Elapsed = sw.Elapsed;
        return outcome;
    }

    /// <summary>True once the peer closed (EOF/reset), false if still open after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitClosedAsync(TimeSpan timeout) => (await ReadUntilClosedAsync(timeout)).Closed;

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

    /// <summary>Closes with RST (SO_LINGER 0).</summary>
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

    public ValueTask DisposeAsync()
    {
        Socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<bool> FillAsync(int count, CancellationToken ct)
    {
        while (_end - _start < count)
        {
            if (_eof)
            {
                return false;
            }
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            int n;
            try
            {
                n = await Socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, ct);
            }
            catch (SocketException)
            {
                n = 0;   // reset by the peer counts as closed
            }
            catch (ObjectDisposedException)
            {
                n = 0;
            }
            if (n == 0)
            {
                _eof = true;
                return false;
            }
            _end += n;
        }
        return true;
    }

#pragma warning disable CA5351 // MD5 is what the PostgreSQL protocol uses
    public static string Md5Response(string user, string password, ReadOnlySpan<byte> salt)
    {
        var inner = Convert.ToHexString(MD5.HashData(Encoding.UTF8.GetBytes(password + user))).ToLowerInvariant();
        return Convert.ToHexString(MD5.HashData([.. Encoding.ASCII.GetBytes(inner), .. salt])).ToLowerInvariant();
    }
#pragma warning restore CA5351
}

/// <summary>Builders for frontend packets, well-formed or not.</summary>
public static class Packets
{
    public const int ProtocolV3 = 3 << 16;
    public const int CancelRequestCode = (1234 << 16) | 5678;
    public const int SslRequestCode = (1234 << 16) | 5679;

    public static byte[] CString(string s) => [.. Encoding.UTF8.GetBytes(s), 0];

    public static byte[] Int32(int value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, value);
        return b;
    }

    /// <summary>A v3 StartupMessage with a correct length.</summary>
    public static byte[] Startup(params (string Key, string Value)[] parameters)
    {
        var body = new List<byte>();
        body.AddRange(Int32(ProtocolV3));
        foreach (var (k, v) in parameters)
        {
            body.AddRange(CString(k));
            body.AddRange(CString(v));
        }
        body.Add(0);
        return [.. Int32(body.Count + 4), .. body];
    }

    public static byte[] Typed(char type, byte[] body) => [(byte)type, .. Int32(body.Length + 4), .. body];

    /// <summary>Just a typed header that claims <paramref name="length"/> (which counts itself).</summary>
    public static byte[] TypedHeader(char type, int length) => [(byte)type, .. Int32(length)];

    public static byte[] Query(string sql) => Typed('Q', CString(sql));

    /// <summary>SASLInitialResponse: mechanism, Int32 length of the data, the data.</summary>
    public static byte[] SaslInitial(string mechanism, string data) =>
        SaslInitial(mechanism, Encoding.UTF8.GetBytes(data), Encoding.UTF8.GetByteCount(data));

    public static byte[] SaslInitial(string mechanism, byte[] data, int declaredLength) =>
        Typed('p', [.. CString(mechanism), .. Int32(declaredLength), .. data]);

    public static byte[] SaslResponse(string data) => Typed('p', Encoding.UTF8.GetBytes(data));
}

/// <summary>Client side of SCRAM-SHA-256 computed independently of Sluice's own implementation.</summary>
public static class ScramClient
{
    public static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));

    /// <summary>Parses "r=…,s=…,i=…".</summary>
    public static (string Nonce, byte[] Salt, int Iterations) ParseServerFirst(string serverFirst)
    {
        string? r = null, s = null, i = null;
        foreach (var part in serverFirst.Split(','))
        {
            if (part.StartsWith("r=", StringComparison.Ordinal))
            {
                r = part[2..];
            }
            else if (part.StartsWith("s=", StringComparison.Ordinal))
            {
                s = part[2..];
            }
            else if (part.StartsWith("i=", StringComparison.Ordinal))
            {
                i = part[2..];
            }
        }
        return (r!, Convert.FromBase64String(s!), int.Parse(i!, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The base64 ClientProof for the given messages (RFC 5802 §3).</summary>
    public static string Proof(string password, byte[] salt, int iterations, string clientFirstBare, string serverFirst, string clientFinalWithoutProof)
    {
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var authMessage = Encoding.UTF8.GetBytes($"{clientFirstBare},{serverFirst},{clientFinalWithoutProof}");
        var signature = HMACSHA256.HashData(storedKey, authMessage);
        var proof = new byte[clientKey.Length];
        for (var k = 0; k < proof.Length; k++)
        {
            proof[k] = (byte)(clientKey[k] ^ signature[k]);
        }
        return Convert.ToBase64String(proof);
    }
}
