namespace Sluice.Pooling;

/// <summary>Where a client connection is in its life.</summary>
internal enum ClientState
{
    /// <summary>Startup packet and authentication; not yet counted in a pool.</summary>
    Login,
    /// <summary>Logged in, no server linked; between transactions in transaction pooling.</summary>
    Idle,
    /// <summary>On <c>Pool.waiters</c>, waiting for a server.</summary>
    Waiting,
    /// <summary>Linked to a server.</summary>
    Active,
    /// <summary>Gone; only its cleanup remains.</summary>
    Closed,
}
