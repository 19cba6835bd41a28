using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Sluice.Protocol;

/// <summary>The 5-byte header of a typed message: one code byte and a length that counts itself.</summary>
internal static class MessageHeader
{
    public const int Size = 5;

    /// <summary>Reads the code and the total wire size (code byte included). False if the length is impossible.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryRead(ReadOnlySpan<byte> header, int maxPacketSize, out byte code, out int totalSize)
    {
        code = header[0];
        var length = BinaryPrimitives.ReadInt32BigEndian(header[1..]);
        // A length below 4 cannot count itself; above max_packet_size (or 2^31 - 2) is refused like PgBouncer does.
        if (length < 4 || length > maxPacketSize || length > int.MaxValue - 1)
        {
            totalSize = 0;
            return false;
        }
        totalSize = length + 1;
        return true;
    }
}
