using System.Buffers.Binary;
using System.Text;

namespace Sluice.Protocol;

/// <summary>
/// Builds the messages Sluice writes itself (login, errors, welcome): never on the forwarding path.
/// Each message states its length up front and <see cref="EndMessage"/> verifies it, as Npgsql's
/// write buffer does, so a miscounted field fails loudly instead of desynchronising the peer.
/// </summary>
internal sealed class MessageBuilder
{
    private byte[] _buffer;
    private int _length;
    private int _messageStart = -1;
    private int _promisedEnd;

    public MessageBuilder(int capacity = 256) => _buffer = new byte[capacity];

    public int Length => _length;

    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

    public void Clear() => _length = 0;

    /// <summary>Starts a typed message whose body (after the length field) is <paramref name="bodyLength"/> bytes.</summary>
    public void StartMessage(byte code, int bodyLength)
    {
        Ensure(5 + bodyLength);
        _messageStart = _length;
        _buffer[_length++] = code;
        WriteInt32(4 + bodyLength);
        _promisedEnd = _messageStart + 1 + 4 + bodyLength;
    }

    /// <summary>Starts an untyped message (startup, cancel, SSLRequest).</summary>
    public void StartUntypedMessage(int bodyLength)
    {
        Ensure(4 + bodyLength);
        _messageStart = _length;
        WriteInt32(4 + bodyLength);
        _promisedEnd = _messageStart + 4 + bodyLength;
    }

    public void EndMessage()
    {
        if (_length != _promisedEnd)
        {
            throw new InvalidOperationException(
                $"Message length mismatch: promised {_promisedEnd - _messageStart} bytes, wrote {_length - _messageStart}.");
        }
        _messageStart = -1;
    }

    public void WriteByte(byte value)
    {
        Ensure(1);
        _buffer[_length++] = value;
    }

    public void WriteInt16(short value)
    {
        Ensure(2);
        BinaryPrimitives.WriteInt16BigEndian(_buffer.AsSpan(_length), value);
        _length += 2;
    }

    public void WriteInt32(int value)
    {
        Ensure(4);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    /// <summary>Writes a NUL-terminated UTF-8 string.</summary>
    public void WriteCString(string value)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        Ensure(count + 1);
        Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length));
        _length += count;
        _buffer[_length++] = 0;
    }

    public static int CStringLength(string value) => Encoding.UTF8.GetByteCount(value) + 1;

    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    private void Ensure(int extra)
    {
        if (_length + extra <= _buffer.Length)
        {
            return;
        }
        Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + extra));
    }
}
