using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>One backend message as received.</summary>
public readonly record struct PgMessage(char Type, byte[] Payload)
{
    /// <summary>ErrorResponse SQLSTATE (field 'C'), or null.</summary>
    public string? SqlState => Type == 'E' ? Field('C') : null;

    public string? Field(char code)
    {
        var pos = 0;
        while (pos < Payload.Length && Payload[pos] != 0)
        {
            var c = (char)Payload[pos++];
            var end = Array.IndexOf(Payload, (byte)0, pos);
            if (c == code)
            {
                return Encoding.UTF8.GetString(Payload, pos, end - pos);
            }
            pos = end + 1;
        }
        return null;
    }

    /// <summary>CommandComplete tag.</summary>
    public string Tag => Encoding.UTF8.GetString(Payload).TrimEnd('\0');

    /// <summary>DataRow values as text.</summary>
    public string?[] Values
    {
        get
        {
            var count = BinaryPrimitives.ReadInt16BigEndian(Payload);
            var values = new string?[count];
            var pos = 2;
            for (var i = 0; i < count; i++)
            {
                var len = BinaryPrimitives.ReadInt32BigEndian(Payload.AsSpan(pos));
                pos += 4;
                if (len >= 0)
                {
                    values[i] = Encoding.UTF8.GetString(Payload, pos, len);
                    pos += len;
                }
            }
            return values;
        }
    }

    public override string ToString() => Type switch
    {
        'E' => $"E({SqlState}: {Field('M')})",
        'C' => $"C({Tag})",
        'D' => $"D({string.Join(",", Values)})",
        _ => Type.ToString(),
    };
}

/// <summary>
/// A raw PostgreSQL v3 client for the extended protocol: sends hand-built Parse/Bind/Describe/Execute/Close/Sync
/// messages (named statements included) and returns every reply, so a test can check exactly what the pooler
/// forwards, swallows and makes up. md5 / cleartext authentication only (what the test pooler uses).
/// </summary>
public sealed class PgWireClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private PgWireClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public static async Task<PgWireClient> ConnectAsync(int port, string user, string database, string password)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
        var client = new PgWireClient(socket);
        try
        {
            var body = new List<byte>();
            body.AddRange(Int32(196608));
            foreach (var (k, v) in new[] { ("user", user), ("database", database) })
            {
                body.AddRange(CString(k));
                body.AddRange(CString(v));
            }
            body.Add(0);
            await client._stream.WriteAsync((byte[])[.. Int32(body.Count + 4), .. body], cts.Token);
            while (true)
            {
                var m = await client.ReadAsync(cts.Token);
                switch (m.Type)
                {
                    case 'R':
                        var code = BinaryPrimitives.ReadInt32BigEndian(m.Payload);
                        if (code == 3)
                        {
                            await client.SendAsync(Msg('p', CString(password)));
                        }
                        else if (code == 5)
                        {
                            var inner = Md5Hex(Encoding.UTF8.GetBytes(password + user));
                            var outer = Md5Hex([.. Encoding.ASCII.GetBytes(inner), .. m.Payload.AsSpan(4, 4)]);
                            await client.SendAsync(Msg('p', CString("md5" + outer)));
                        }
                        else if (code != 0)
                        {
                            throw new NotSupportedException($"authentication request {code}");
                        }
                        break;
                    case 'E':
                        throw new InvalidOperationException("login failed: " + m);
                    case 'Z':
                        return client;
                }
            }
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public async Task SendAsync(params byte[][] messages)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _stream.WriteAsync((byte[])[.. messages.SelectMany(m => m)], cts.Token);
    }

    public async Task<PgMessage> ReadAsync(CancellationToken ct = default)
    {
        var header = new byte[5];
        await _stream.ReadExactlyAsync(header, ct);
        var len = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
        var payload = new byte[len - 4];
        await _stream.ReadExactlyAsync(payload, ct);
        return new PgMessage((char)header[0], payload);
    }

    /// <summary>Reads replies up to and including the next ReadyForQuery; ParameterStatus/Notice are dropped.</summary>
    public async Task<List<PgMessage>> ReadUntilReadyAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        var list = new List<PgMessage>();
        while (true)
        {
            var m = await ReadAsync(cts.Token);
            if (m.Type is 'S' or 'N')
            {
                continue;
            }
            list.Add(m);
            if (m.Type == 'Z' || (m.Type == 'E' && m.Field('S') == "FATAL"))
            {
                return list;
            }
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> replies (ParameterStatus/Notice dropped).</summary>
    public async Task<List<PgMessage>> ReadCountAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var list = new List<PgMessage>();
        while (list.Count < count)
        {
            var m = await ReadAsync(cts.Token);
            if (m.Type is not ('S' or 'N'))
            {
                list.Add(m);
            }
        }
        return list;
    }

    /// <summary>The reply types as a string, e.g. "12DCZ".</summary>
    public static string Types(IEnumerable<PgMessage> messages) => string.Concat(messages.Select(m => m.Type));

    public static string Show(IEnumerable<PgMessage> messages) => string.Join(' ', messages);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.Connected)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _stream.WriteAsync(Msg('X'), cts.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        await _stream.DisposeAsync();
        _socket.Dispose();
    }

    // ---- message builders ----

    public static byte[] Msg(char type, params byte[][] parts)
    {
        var body = parts.SelectMany(p => p).ToArray();
        return [(byte)type, .. Int32(body.Length + 4), .. body];
    }

    public static byte[] CString(string s) => [.. Encoding.UTF8.GetBytes(s), 0];

    public static byte[] Int16(short v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteInt16BigEndian(b, v);
        return b;
    }

    public static byte[] Int32(int v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, v);
        return b;
    }

    public static byte[] Parse(string name, string query, params int[] oids) =>
        Msg('P', CString(name), CString(query), Int16((short)oids.Length), [.. oids.SelectMany(Int32)]);

    public static byte[] Bind(string portal, string statement, params string?[] values)
    {
        var parts = new List<byte[]> { CString(portal), CString(statement), Int16(0), Int16((short)values.Length) };
        foreach (var v in values)
        {
            if (v is null)
            {
                parts.Add(Int32(-1));
                continue;
            }
            var bytes = Encoding.UTF8.GetBytes(v);
            parts.Add(Int32(bytes.Length));
            parts.Add(bytes);
        }
        parts.Add(Int16(0));
        return Msg('B', [.. parts]);
    }

    public static byte[] Describe(char kind, string name) => Msg('D', [(byte)kind], CString(name));

    public static byte[] Close(char kind, string name) => Msg('C', [(byte)kind], CString(name));

    public static byte[] Execute(string portal = "", int maxRows = 0) => Msg('E', CString(portal), Int32(maxRows));

    public static byte[] Sync() => Msg('S');

    public static byte[] Flush() => Msg('H');

    public static byte[] Query(string sql) => Msg('Q', CString(sql));

#pragma warning disable CA5351 // MD5 is what the PostgreSQL protocol uses
    private static string Md5Hex(byte[] data) => Convert.ToHexString(MD5.HashData(data)).ToLowerInvariant();
#pragma warning restore CA5351
}
