namespace Sluice.Auth;

/// <summary>
/// An HMAC-SHA-256 key (RFC 2104) kept as the hash states after its inner and outer padded blocks, so each MAC
/// with it hashes only the message and one outer block. A SCRAM secret's StoredKey and ServerKey are used this
/// way once per login each.
/// </summary>
internal sealed class HmacSha256Key
{
    private readonly Sha256State _inner;
    private readonly Sha256State _outer;

    public HmacSha256Key(ReadOnlySpan<byte> key)
    {
        Span<byte> block = stackalloc byte[Sha256.BlockSize];
        block.Clear();
        if (key.Length > Sha256.BlockSize)
        {
            Sha256.Hash(key, block);
        }
        else
        {
            key.CopyTo(block);
        }

        Span<byte> padded = stackalloc byte[Sha256.BlockSize];
        _inner = Pad(block, padded, 0x36);
        _outer = Pad(block, padded, 0x5c);
        padded.Clear();
        block.Clear();
    }

    /// <summary>Writes HMAC(key, message), 32 bytes.</summary>
    public void Compute(ReadOnlySpan<byte> message, Span<byte> mac)
    {
        var inner = _inner;
        Span<byte> innerHash = stackalloc byte[Sha256.HashSize];
        Sha256.Finish(ref inner, Sha256.BlockSize, message, innerHash);
        var outer = _outer;
        Sha256.Finish(ref outer, Sha256.BlockSize, innerHash, mac);
    }

    /// <summary>HMAC(key, message) as a new array.</summary>
    public byte[] Compute(ReadOnlySpan<byte> message)
    {
        var mac = new byte[Sha256.HashSize];
        Compute(message, mac);
        return mac;
    }

    private static Sha256State Pad(ReadOnlySpan<byte> key, Span<byte> padded, byte pad)
    {
        for (var i = 0; i < padded.Length; i++)
        {
            padded[i] = (byte)(key[i] ^ pad);
        }

        var state = Sha256.Start();
        Sha256.Compress(ref state, padded);
        return state;
    }
}
