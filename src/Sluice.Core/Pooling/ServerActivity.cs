using Sluice.Protocol;

namespace Sluice.Pooling;

/// <summary>A consistent reading of a server's query and transaction state, taken under its lock.</summary>
internal readonly record struct ServerActivity(
    int PendingSyncs,
    bool Unsynced,
    TransactionStatus Status,
    long QueryStart,
    long TransactionStart,
    long LastReady)
{
    public bool QueryInProgress => PendingSyncs > 0 || Unsynced;
}
