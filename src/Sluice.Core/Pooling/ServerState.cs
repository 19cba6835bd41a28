namespace Sluice.Pooling;

/// <summary>Where a server connection is; each state names the owner that may touch it.</summary>
internal enum ServerState
{
    /// <summary>Connecting and logging in; counted in <c>Pool.connecting</c>, in no list.</summary>
    Login,
    /// <summary>Clean and unlinked; on <c>Pool.idle</c>.</summary>
    Idle,
    /// <summary>Linked to <c>ServerConnection.Client</c>; its bytes go to that client.</summary>
    Active,
    /// <summary>Running a query of Sluice's own (reset, SET); its replies are swallowed. Owned by whoever started it.</summary>
    Internal,
    /// <summary>Closed; in no list, its read loop has ended or is ending.</summary>
    Closed,
}
