using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Sluice.Testing.Wire;

/// <summary>
/// A deliberately independent encoder/decoder of the PostgreSQL v3 wire format for the fake server and test
/// clients: Sluice's own encoders are what the tests check, so they are not reused here.
/// </summary>
public static class PgWire
{
    public const int ProtocolV3 = 3 << 16;
    public const int CancelRequestCode = (1234 << 16) | 5678;
    public const int SslRequestCode = (1234 << 16) | 5679;
    public const int GssEncRequestCode = (1234 << 16) | 5680;

    /// <summary>A typed message: code, int32 length (counting itself), body.</summary>
    public static byte[] Message(char code, ReadOnlySpan<byte> body)
    {
        var message = new byte[5 + body.Length];
        message[0] = (byte)code;
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 4 + body.Length);
        body.CopyTo(message.AsSpan(5));
        return message;
    }

    /// <summary>A body assembled from parts: string = C string, char = one byte, byte, short/int = big-endian, byte[] = raw.</summary>
    public static byte[] Body(params object?[] parts)
    {
        var list = new List<byte>();
        foreach (var part in parts)
        {
            switch (part)
            {
                case string s: list.AddRange(Encoding.UTF8.GetBytes(s)); list.Add(0); break;
                case char c: list.Add((byte)c); break;
                case byte b: list.Add(b); break;
                case short h: list.Add((byte)(h >> 8)); list.Add((byte)h); break;
                case int i: list.AddRange([(byte)(i >> 24), (byte)(i >> 16), (byte)(i >> 8), (byte)i]); break;
                case byte[] raw: list.AddRange(raw); break;
                case null: break;
                default: throw new ArgumentException($"unsupported part type {part.GetType().Name}");
            }
        }
        return [.. list];
    }

    /// <summary>An untyped startup-phase packet: int32 length then body (version/code first).</summary>
    public static byte[] Untyped(ReadOnlySpan<byte> body)
    {
        var packet = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(packet, packet.Length);
        body.CopyTo(packet.AsSpan(4));
        return packet;
    }

    public static byte[] Startup(IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var parts = new List<object?> { ProtocolV3 };
        foreach (var (key, value) in parameters)
        {
            parts.Add(key);
            parts.Add(value);
        }
        parts.Add((byte)0);
        return Untyped(Body([.. parts]));
    }

    /// <summary>A v3 StartupMessage with a correct length.</summary>
    public static byte[] Startup(params (string Key, string Value)[] parameters) =>
        Startup(parameters.Select(p => new KeyValuePair<string, string>(p.Key, p.Value)));

    /// <summary>Just a typed header that claims <paramref name="length"/> (which counts itself), for lying-length tests.</summary>
    public static byte[] TypedHeader(char code, int length) => [(byte)code, .. Int32(length)];

    public static byte[] CString(string s) => [.. Encoding.UTF8.GetBytes(s), 0];

    public static byte[] Int16(short value)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteInt16BigEndian(b, value);
        return b;
    }

    public static byte[] Int32(int value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, value);
        return b;
    }

    public static byte[] CancelRequest(int processId, int secretKey) => Untyped(Body(CancelRequestCode, processId, secretKey));

    public static byte[] Query(string sql) => Message('Q', Body(sql));

    public static byte[] Terminate() => Message('X', []);

    /// <summary>SASLInitialResponse: mechanism, Int32 length of the data, the data.</summary>
    public static byte[] SaslInitial(string mechanism, string data) =>
        SaslInitial(mechanism, Encoding.UTF8.GetBytes(data), Encoding.UTF8.GetByteCount(data));

    /// <summary>SASLInitialResponse whose declared data length may lie.</summary>
    public static byte[] SaslInitial(string mechanism, byte[] data, int declaredLength) =>
        Message('p', [.. CString(mechanism), .. Int32(declaredLength), .. data]);

    public static byte[] SaslResponse(string data) => Message('p', Encoding.UTF8.GetBytes(data));

    public static byte[] Parse(string name, string query, params int[] oids) =>
        Message('P', [.. CString(name), .. CString(query), .. Int16((short)oids.Length), .. oids.SelectMany(Int32)]);

    /// <summary>Bind with text parameters (null = SQL NULL) and text results.</summary>
    public static byte[] Bind(string portal, string statement, params string?[] values)
    {
        var parts = new List<object?> { portal, statement, (short)0, (short)values.Length };
        foreach (var value in values)
        {
            if (value is null)
            {
                parts.Add(-1);
                continue;
            }
            var bytes = Encoding.UTF8.GetBytes(value);
            parts.Add(bytes.Length);
            parts.Add(bytes);
        }
        parts.Add((short)0);
        return Message('B', Body([.. parts]));
    }

    public static byte[] Describe(char kind, string name) => Message('D', Body(kind, name));

    public static byte[] Close(char kind, string name) => Message('C', Body(kind, name));

    public static byte[] Execute(string portal = "", int maxRows = 0) => Message('E', Body(portal, maxRows));

    public static byte[] Sync() => Message('S', []);

    public static byte[] Flush() => Message('H', []);

    /// <summary>The reply types as a string, e.g. "12DCZ".</summary>
    public static string Types(IEnumerable<PgMessage> messages) => string.Concat(messages.Select(m => m.Type));

    public static string Show(IEnumerable<PgMessage> messages) => string.Join(' ', messages);

    public static byte[] AuthenticationOk() => Message('R', Body(0));

    public static byte[] ParameterStatus(string name, string value) => Message('S', Body(name, value));

    public static byte[] BackendKeyData(int processId, int secretKey) => Message('K', Body(processId, secretKey));

    public static byte[] ReadyForQuery(char status) => Message('Z', Body(status));

    /// <summary>ErrorResponse (or NoticeResponse) with S, V, C, M fields, like PostgreSQL sends.</summary>
    public static byte[] Error(string severity, string sqlState, string message, bool notice = false) =>
        Message(notice ? 'N' : 'E', Body('S', severity, 'V', severity, 'C', sqlState, 'M', message, (byte)0));

    /// <summary>RowDescription of text columns (type text, OID 25).</summary>
    public static byte[] RowDescription(params string[] columns)
    {
        var parts = new List<object?> { (short)columns.Length };
        foreach (var column in columns)
        {
            parts.AddRange([column, 0, (short)0, 25, (short)-1, -1, (short)0]);
        }
        return Message('T', Body([.. parts]));
    }

    /// <summary>DataRow of text values (null = SQL NULL).</summary>
    public static byte[] DataRow(params string?[] values) =>
        DataRowRaw([.. values.Select(v => v is null ? null : Encoding.UTF8.GetBytes(v))]);

    public static byte[] DataRowRaw(params byte[]?[] values)
    {
        var length = 2 + values.Sum(v => 4 + (v?.Length ?? 0));
        var body = new byte[length];
        BinaryPrimitives.WriteInt16BigEndian(body, (short)values.Length);
        var pos = 2;
        foreach (var value in values)
        {
            BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(pos), value?.Length ?? -1);
            pos += 4;
            if (value is not null)
            {
                value.CopyTo(body, pos);
                pos += value.Length;
            }
        }
        return Message('D', body);
    }

    public static byte[] CommandComplete(string tag) => Message('C', Body(tag));

    /// <summary>Column values of a DataRow body (null = SQL NULL).</summary>
    public static byte[]?[] ParseDataRow(byte[] body)
    {
        var count = BinaryPrimitives.ReadInt16BigEndian(body);
        var values = new byte[]?[count];
        var pos = 2;
        for (var i = 0; i < count; i++)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(pos));
            pos += 4;
            if (length >= 0)
            {
                values[i] = body.AsSpan(pos, length).ToArray();
                pos += length;
            }
        }
        return values;
    }

    /// <summary>Process id and secret key of a BackendKeyData body.</summary>
    public static (int Pid, int Key) ParseBackendKeyData(byte[] body) =>
        (BinaryPrimitives.ReadInt32BigEndian(body), BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(4)));

    public static string ReadCString(byte[] data, int offset, out int next)
    {
        var end = Array.IndexOf(data, (byte)0, offset);
        if (end < 0)
        {
            end = data.Length;
        }
        next = Math.Min(end + 1, data.Length);
        return Encoding.UTF8.GetString(data, offset, end - offset);
    }

    public static IReadOnlyDictionary<char, string> ParseErrorFields(byte[] body)
    {
        var fields = new Dictionary<char, string>();
        var pos = 0;
        while (pos < body.Length && body[pos] != 0)
        {
            var code = (char)body[pos];
            fields[code] = ReadCString(body, pos + 1, out pos);
        }
        return fields;
    }

    /// <summary>Sends all bytes (a Socket.SendAsync may send fewer).</summary>
    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken token = default)
    {
        while (!data.IsEmpty)
        {
            var n = await socket.SendAsync(data, SocketFlags.None, token).ConfigureAwait(false);
            data = data[n..];
        }
    }
}
