using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Sluice.Auth;

/// <summary>
/// Cryptographic random bytes for nonces and cancel keys, drawn from the platform RNG a block at a time. Each
/// login needs three small draws, and each call into OpenSSL's DRBG takes its locks, checks for a fork and
/// clears the error queue; a per-thread block makes that one call per dozen logins. Bytes are handed out once
/// and wiped from the block as they go.
/// </summary>
internal static class SecureRandom
{
    private const int BlockSize = 256;

    /// <summary>Draws larger than this go straight to the platform RNG.</summary>
    private const int MaxBuffered = 64;

    [ThreadStatic]
    private static byte[]? t_block;

    [ThreadStatic]
    private static int t_next;

    public static void Fill(Span<byte> destination)
    {
        if (destination.Length > MaxBuffered)
        {
            RandomNumberGenerator.Fill(destination);
            return;
        }

        var block = t_block;
        if (block is null || t_next + destination.Length > BlockSize)
        {
            block = t_block ??= new byte[BlockSize];
            RandomNumberGenerator.Fill(block);
            t_next = 0;
        }

        var taken = block.AsSpan(t_next, destination.Length);
        taken.CopyTo(destination);
        taken.Clear();
        t_next += destination.Length;
    }

    public static int NextInt32()
    {
        Span<byte> bytes = stackalloc byte[sizeof(int)];
        Fill(bytes);
        return BinaryPrimitives.ReadInt32LittleEndian(bytes);
    }
}
