using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Sluice.IntegrationTests.Infrastructure;

/// <summary>An ErrorResponse received by <see cref="RawPgClient"/>.</summary>
public sealed class RawPgException(IReadOnlyDictionary<char, string> fields)
    : Exception($"{fields.GetValueOrDefault('S')} {fields.GetValueOrDefault('C')}: {fields.GetValueOrDefault('M')}")
{
    public IReadOnlyDictionary<char, string> Fields { get; } = fields;

    public string? SqlState => Fields.GetValueOrDefault('C');

    public string? Severity => Fields.GetValueOrDefault('S');
}

/// <summary>Outcome of one simple Query: result sets (rows as text), command tags, an error, and the final transaction status.</summary>
public sealed class RawQueryResult
{
    public List<List<string?[]>> ResultSets { get; } = new();

    public List<string> CommandTags { get; } = new();

    public RawPgException? Error { get; set; }

    /// <summary>The ReadyForQuery status byte: 'I', 'T' or 'E'.</summary>
    public char TransactionStatus { get; set; }

    public string? FirstValue => ResultSets.Count > 0 && ResultSets[0].Count > 0 ? ResultSets[0][0][0] : null;
}

/// <summary>
/// A minimal PostgreSQL v3 protocol client over a raw socket: trust, cleartext and md5 authentication, simple
/// Query, and an abortive close (RST) to simulate a client that dies. Used where Npgsql cannot express the
/// scenario (simple query protocol, killing a connection mid-transaction).
/// </summary>
public sealed class RawPgClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private NetworkStream _stream = null!;
    private readonly Dictionary<string, string> _parameters = new(StringComparer.Ordinal);

    private RawPgClient(Socket socket)
    {
        _socket = socket;
    }

    public IReadOnlyDictionary<string, string> Parameters => _parameters;

    public int BackendPid { get; private set; }

    public int BackendKey { get; private set; }

    public char TransactionStatus { get; private set; }

    public static async Task<RawPgClient> ConnectAsync(
        int port, string user, string database, string? password, IDictionary<string, string>? extraParameters = null,
        TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var client = new RawPgClient(socket);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            client._stream = new NetworkStream(socket, ownsSocket: false);
            await client.StartupAsync(user, database, password, extraParameters, cts.Token);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    private async Task StartupAsync(string user, string database, string? password, IDictionary<string, string>? extra, CancellationToken ct)
    {
        var body = new MemoryStream();
        WriteInt32(body, 196608);
        void Param(string k, string v)
        {
            WriteCString(body, k);
            WriteCString(body, v);
        }
        Param("user", user);
        Param("database", database);
        if (extra is not null)
        {
            foreach (var kv in extra)
            {
                Param(kv.Key, kv.Value);
            }
        }
        body.WriteByte(0);
        var packet = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(packet, packet.Length);
        body.ToArray().CopyTo(packet, 4);
        await _stream.WriteAsync(packet, ct);

        while (true)
        {
            var (type, payload) = await ReadMessageAsync(ct);
            switch (type)
            {
                case 'R':
                    var code = BinaryPrimitives.ReadInt32BigEndian(payload);
                    if (code == 0)
                    {
                        break;
                    }
                    if (password is null)
                    {
                        throw new InvalidOperationException($"server asked for authentication {code} but no password was given");
                    }
                    if (code == 3)
                    {
                        await SendAsync('p', CString(password), ct);
                    }
                    else if (code == 5)
                    {
                        var inner = Md5Hex(Encoding.UTF8.GetBytes(password + user));
                        var outer = Md5Hex([.. Encoding.ASCII.GetBytes(inner), .. payload.AsSpan(4, 4)]);
                        await SendAsync('p', CString("md5" + outer), ct);
                    }
                    else
                    {
                        throw new NotSupportedException($"RawPgClient does not support authentication request {code}");
                    }
                    break;
                case 'S':
                    var parts = SplitCStrings(payload);
                    _parameters[parts[0]] = parts.Length > 1 ? parts[1] : "";
                    break;
                case 'K':
                    BackendPid = BinaryPrimitives.ReadInt32BigEndian(payload);
                    BackendKey = BinaryPrimitives.ReadInt32BigEndian(payload.AsSpan(4));
                    break;
                case 'E':
                    throw new RawPgException(ParseFields(payload));
                case 'N':
                    break;
                case 'Z':
                    TransactionStatus = (char)payload[0];
                    return;
                default:
                    throw new InvalidOperationException($"unexpected message '{type}' during startup");
            }
        }
    }

    /// <summary>Sends a simple Query and reads everything up to ReadyForQuery. Errors are returned, not thrown.</summary>
    public async Task<RawQueryResult> QueryAsync(string sql, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await SendAsync('Q', CString(sql), cts.Token);
        var result = new RawQueryResult();
        List<string?[]>? current = null;
        while (true)
        {
            var (type, payload) = await ReadMessageAsync(cts.Token);
            switch (type)
            {
                case 'T':
                    current = new List<string?[]>();
                    result.ResultSets.Add(current);
                    break;
                case 'D':
                    current ??= AddSet(result);
                    current.Add(ParseDataRow(payload));
                    break;
                case 'C':
                    result.CommandTags.Add(SplitCStrings(payload)[0]);
                    current = null;
                    break;
                case 'E':
                    result.Error ??= new RawPgException(ParseFields(payload));
                    if (result.Error.Severity is "FATAL" or "PANIC")
                    {
                        return result;
                    }
                    break;
                case 'I':
                case 'N':
                case 'S':
                case 'A':
                    break;
                case 'Z':
                    result.TransactionStatus = (char)payload[0];
                    TransactionStatus = result.TransactionStatus;
                    return result;
                default:
                    throw new InvalidOperationException($"unexpected message '{type}' in simple query");
            }
        }

        static List<string?[]> AddSet(RawQueryResult r)
        {
            var l = new List<string?[]>();
            r.ResultSets.Add(l);
            return l;
        }
    }

    /// <summary>Sends a Query without reading the answer (e.g. to leave a statement running).</summary>
    public async Task SendQueryAsync(string sql)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await SendAsync('Q', CString(sql), cts.Token);
    }

    /// <summary>Resets the TCP connection (SO_LINGER 0): the peer sees a connection reset, no Terminate message.</summary>
    public void Abort()
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
        }
        _socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.Connected)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await SendAsync('X', [], cts.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        if (_stream is not null)
        {
            await _stream.DisposeAsync();
        }
        _socket.Dispose();
    }

    /// <summary>True when the server has closed the connection (read returns EOF or fails) within <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buf = new byte[8192];
        try
        {
            while (true)
            {
                var n = await _stream.ReadAsync(buf, cts.Token);
                if (n == 0)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private async Task SendAsync(char type, byte[] payload, CancellationToken ct)
    {
        var msg = new byte[5 + payload.Length];
        msg[0] = (byte)type;
        BinaryPrimitives.WriteInt32BigEndian(msg.AsSpan(1), payload.Length + 4);
        payload.CopyTo(msg, 5);
        await _stream.WriteAsync(msg, ct);
    }

    private async Task<(char Type, byte[] Payload)> ReadMessageAsync(CancellationToken ct)
    {
        var header = new byte[5];
        await _stream.ReadExactlyAsync(header, ct);
        var len = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
        if (len < 4 || len > 64 * 1024 * 1024)
        {
            throw new InvalidOperationException($"bad message length {len} for '{(char)header[0]}'");
        }
        var payload = new byte[len - 4];
        await _stream.ReadExactlyAsync(payload, ct);
        return ((char)header[0], payload);
    }

    private static string?[] ParseDataRow(byte[] p)
    {
        var count = BinaryPrimitives.ReadInt16BigEndian(p);
        var values = new string?[count];
        var pos = 2;
        for (var i = 0; i < count; i++)
        {
            var len = BinaryPrimitives.ReadInt32BigEndian(p.AsSpan(pos));
            pos += 4;
            if (len < 0)
            {
                values[i] = null;
                continue;
            }
            values[i] = Encoding.UTF8.GetString(p, pos, len);
            pos += len;
        }
        return values;
    }

    private static Dictionary<char, string> ParseFields(byte[] p)
    {
        var fields = new Dictionary<char, string>();
        var pos = 0;
        while (pos < p.Length && p[pos] != 0)
        {
            var code = (char)p[pos++];
            var end = Array.IndexOf(p, (byte)0, pos);
            fields[code] = Encoding.UTF8.GetString(p, pos, end - pos);
            pos = end + 1;
        }
        return fields;
    }

    private static string[] SplitCStrings(byte[] p) =>
        Encoding.UTF8.GetString(p).TrimEnd('\0').Split('\0');

    private static byte[] CString(string s) => [.. Encoding.UTF8.GetBytes(s), 0];

    private static void WriteCString(Stream s, string v)
    {
        s.Write(Encoding.UTF8.GetBytes(v));
        s.WriteByte(0);
    }

    private static void WriteInt32(Stream s, int v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, v);
        s.Write(b);
    }

#pragma warning disable CA5351 // MD5 is what the PostgreSQL protocol uses
    private static string Md5Hex(byte[] data) => Convert.ToHexString(MD5.HashData(data)).ToLowerInvariant();
#pragma warning restore CA5351
}
