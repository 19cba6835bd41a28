using System.Buffers;
using System.Buffers.Binary;

namespace Sluice.Transport;

/// <summary>A growable output buffer rented from the pool, for the rare batches that must be rewritten.</summary>
internal struct PooledWriter(int initialSize) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(initialSize);
    private int _length;

    public readonly int Length => _length;

    public readonly ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

    public void Write(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    public void WriteByte(byte value)
    {
        Ensure(1);
        _buffer[_length++] = value;
    }

    public void WriteInt32(int value)
    {
        Ensure(4);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }

    public void Dispose()
    {
        if (_buffer is { Length: > 0 })
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
        _buffer = [];
    }

    private void Ensure(int extra)
    {
        if (_length + extra <= _buffer.Length)
        {
            return;
        }
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + extra));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
