using System.Buffers;

namespace Sluice.Transport;

/// <summary>
/// I/O buffers are rented only while bytes are in flight and returned as soon as a connection has
/// nothing buffered, so an idle connection holds none (PgBouncer's lazily allocated iobuf, Kestrel's
/// zero-byte reads).
/// </summary>
internal static class BufferPool
{
    /// <summary>Large enough that a typical result set or pipeline batch moves in one read and one send.</summary>
    public const int DefaultSize = 16 * 1024;

    public static byte[] Rent(int minimum = DefaultSize) => ArrayPool<byte>.Shared.Rent(minimum);

    public static void Return(byte[]? buffer)
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Moves a partial message to a larger buffer when it cannot fit in the current one.</summary>
    public static byte[] Grow(byte[] buffer, int filled, int needed)
    {
        var bigger = Rent(Math.Max(needed, buffer.Length * 2));
        buffer.AsSpan(0, filled).CopyTo(bigger);
        Return(buffer);
        return bigger;
    }
}
