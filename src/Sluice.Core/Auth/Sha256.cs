using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Sluice.Auth;

/// <summary>
/// SHA-256 (FIPS 180-4) for the SCRAM exchange of every login. The platform's one-shot HMAC goes through
/// OpenSSL's EVP layer (MAC fetched by name, parameters located by string, a context allocated, the error
/// queue cleared), which in a login storm cost more than hashing the few hundred bytes of a SCRAM
/// exchange: a fifth of the login path's user time. PgBouncer hashes with its own code for the same
/// reason. Key derivation (PBKDF2, thousands of rounds, once per secret) stays with the platform.
/// Checked against <see cref="System.Security.Cryptography.SHA256"/> and HMACSHA256 in the tests.
/// </summary>
internal static class Sha256
{
    internal const int BlockSize = 64;

    internal const int HashSize = 32;

    private static ReadOnlySpan<uint> RoundConstants =>
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    private static ReadOnlySpan<uint> InitialState =>
    [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];

    /// <summary>The state before any input.</summary>
    internal static Sha256State Start()
    {
        var state = default(Sha256State);
        InitialState.CopyTo(state);
        return state;
    }

    /// <summary>SHA-256 of <paramref name="data"/>.</summary>
    internal static void Hash(ReadOnlySpan<byte> data, Span<byte> hash)
    {
        var state = Start();
        Finish(ref state, 0, data, hash);
    }

    /// <summary>
    /// Hashes the rest of a message whose first <paramref name="processed"/> bytes (whole blocks) are already in
    /// <paramref name="state"/>; writes the digest. An HMAC key's padded blocks are such a prefix.
    /// </summary>
    [SkipLocalsInit]
    internal static void Finish(ref Sha256State state, long processed, ReadOnlySpan<byte> data, Span<byte> hash)
    {
        var whole = data.Length & ~(BlockSize - 1);
        for (var offset = 0; offset < whole; offset += BlockSize)
        {
            Compress(ref state, data.Slice(offset, BlockSize));
        }

        // The padding: 0x80, zeros, and the message length in bits in the last 8 bytes of one or two blocks.
        Span<byte> tail = stackalloc byte[2 * BlockSize];
        var rest = data.Length - whole;
        data[whole..].CopyTo(tail);
        tail[rest] = 0x80;
        var tailLength = rest < BlockSize - 8 ? BlockSize : 2 * BlockSize;
        tail[(rest + 1)..(tailLength - 8)].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(tail[(tailLength - 8)..], (ulong)(processed + data.Length) * 8);
        Compress(ref state, tail[..BlockSize]);
        if (tailLength > BlockSize)
        {
            Compress(ref state, tail[BlockSize..]);
        }

        for (var i = 0; i < 8; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(hash[(i * 4)..], state[i]);
        }
    }

    /// <summary>One 64-byte block into the state (FIPS 180-4 §6.2.2).</summary>
    [SkipLocalsInit]
    internal static void Compress(ref Sha256State state, ReadOnlySpan<byte> block)
    {
        Span<uint> schedule = stackalloc uint[64];
        for (var i = 0; i < 16; i++)
        {
            schedule[i] = BinaryPrimitives.ReadUInt32BigEndian(block[(i * 4)..]);
        }

        for (var i = 16; i < 64; i++)
        {
            var w15 = schedule[i - 15];
            var w2 = schedule[i - 2];
            var s0 = BitOperations.RotateRight(w15, 7) ^ BitOperations.RotateRight(w15, 18) ^ (w15 >> 3);
            var s1 = BitOperations.RotateRight(w2, 17) ^ BitOperations.RotateRight(w2, 19) ^ (w2 >> 10);
            schedule[i] = schedule[i - 16] + s0 + schedule[i - 7] + s1;
        }

        uint a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
        var k = RoundConstants;
        for (var i = 0; i < 64; i++)
        {
            var sum1 = BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25);
            var choice = (e & f) ^ (~e & g);
            var t1 = h + sum1 + choice + k[i] + schedule[i];
            var sum0 = BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22);
            var majority = (a & b) ^ (a & c) ^ (b & c);
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + sum0 + majority;
        }

        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }
}
