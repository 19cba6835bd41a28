using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Sluice.Testing.FakePostgres;

/// <summary>One typed protocol message: its code byte and the body after the length field.</summary>
public sealed record PgMessage(char Code, byte[] Body)
{
    /// <summary>The body as a NUL-terminated string (Query text, CommandComplete tag).</summary>
    public string BodyCString() => PgWire.ReadCString(Body, 0, out _);

    /// <summary>Fields of an ErrorResponse / NoticeResponse body by field code ('S', 'V', 'C', 'M', ...).</summary>
    public IReadOnlyDictionary<char, string> ErrorFields() => PgWire.ParseErrorFields(Body);

    /// <summary>Name and value of a ParameterStatus body.</summary>
    public (string Name, string Value) ParameterStatus()
    {
        var name = PgWire.ReadCString(Body, 0, out var next);
        return (name, PgWire.ReadCString(Body, next, out _));
    }

    /// <summary>The status byte of a ReadyForQuery.</summary>
    public char TransactionStatus => Code == 'Z' ? (char)Body[0] : throw new InvalidOperationException($"'{Code}' is not ReadyForQuery");

    public override string ToString() => Code switch
    {
        'Q' or 'C' => $"{Code} {BodyCString()}",
        'E' or 'N' => $"{Code} {string.Join(' ', ErrorFields().Select(f => $"{f.Key}={f.Value}"))}",
        'S' => $"S {ParameterStatus().Name}={ParameterStatus().Value}",
        'Z' => $"Z {TransactionStatus}",
        _ => $"{Code} ({Body.Length} bytes)",
    };
}

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

    public static byte[] CancelRequest(int processId, int secretKey) => Untyped(Body(CancelRequestCode, processId, secretKey));

    public static byte[] Query(string sql) => Message('Q', Body(sql));

    public static byte[] Terminate() => Message('X', []);

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

/// <summary>Buffered reading of whole messages from a socket.</summary>
public sealed class PgReader
{
    private readonly Socket _socket;
    private byte[] _buffer = new byte[8192];
    private int _start;
    private int _end;

    public PgReader(Socket socket) => _socket = socket;

    /// <summary>Reads exactly <paramref name="count"/> bytes; null on EOF (or reset) before that.</summary>
    public async Task<byte[]?> ReadExactAsync(int count, CancellationToken token)
    {
        if (!await EnsureAsync(count, token).ConfigureAwait(false))
        {
            return null;
        }
        var bytes = _buffer.AsSpan(_start, count).ToArray();
        _start += count;
        return bytes;
    }

    /// <summary>Reads a typed message; null on EOF/reset.</summary>
    public async Task<PgMessage?> ReadMessageAsync(CancellationToken token)
    {
        var header = await ReadExactAsync(5, token).ConfigureAwait(false);
        if (header is null)
        {
            return null;
        }
        var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
        if (length < 4)
        {
            throw new InvalidDataException($"message '{(char)header[0]}' with invalid length {length}");
        }
        var body = await ReadExactAsync(length - 4, token).ConfigureAwait(false);
        return body is null ? null : new PgMessage((char)header[0], body);
    }

    /// <summary>Reads an untyped startup-phase packet; returns its body (after the length), null on EOF.</summary>
    public async Task<byte[]?> ReadUntypedAsync(CancellationToken token)
    {
        var header = await ReadExactAsync(4, token).ConfigureAwait(false);
        if (header is null)
        {
            return null;
        }
        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length < 8 || length > 100_000)
        {
            throw new InvalidDataException($"startup packet with invalid length {length}");
        }
        return await ReadExactAsync(length - 4, token).ConfigureAwait(false);
    }

    /// <summary>Waits until the peer closes the connection (discarding anything it sends); false on timeout/cancel.</summary>
    public async Task<bool> WaitForEofAsync(CancellationToken token)
    {
        try
        {
            while (true)
            {
                _start = _end = 0;
                var n = await _socket.ReceiveAsync(_buffer.AsMemory(), SocketFlags.None, token).ConfigureAwait(false);
                if (n == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<bool> EnsureAsync(int count, CancellationToken token)
    {
        while (_end - _start < count)
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            if (_buffer.Length < count)
            {
                Array.Resize(ref _buffer, Math.Max(count, _buffer.Length * 2));
            }
            int n;
            try
            {
                n = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, token).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                return false;   // reset by peer counts as end of stream here
            }
            if (n == 0)
            {
                return false;
            }
            _end += n;
        }
        return true;
    }
}
