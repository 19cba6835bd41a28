namespace Sluice.Pooling;

/// <summary>
/// PgBouncer's layout of a cancel key when peering is on (peer_id &gt; 0), so peered processes behind one load
/// balancer can pass a CancelRequest to the process that issued the key: bytes 1 and 2 of the key (the low and
/// high byte of the peer id) sit in the "process id" half, and the two low bits of the last byte count how many
/// more times the request may be passed on. The key is otherwise random.
/// </summary>
internal static class PeerCancelKey
{
    /// <summary>The two low bits of the secret half: hops left. Issued keys carry both bits set.</summary>
    public const int TtlMask = 0x3;

    /// <summary>Stamps <paramref name="peerId"/> and a full TTL into a random key.</summary>
    public static (int ProcessId, int SecretKey) Stamp(int processId, int secretKey, int peerId)
    {
        // Byte 0 keeps its random bits (the sign bit is cleared by the caller), bytes 1-2 carry the id.
        var pid = (processId & unchecked((int)0xFF0000FF)) | ((peerId & 0xFF) << 16) | (((peerId >> 8) & 0xFF) << 8);
        return (pid, secretKey | TtlMask);
    }

    /// <summary>The peer id a key was issued by.</summary>
    public static int PeerOf(int processId) => ((processId >> 16) & 0xFF) | (((processId >> 8) & 0xFF) << 8);

    public static int TtlOf(int secretKey) => secretKey & TtlMask;
}
