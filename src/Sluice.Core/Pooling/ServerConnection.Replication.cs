using Sluice.Diagnostics;
using Sluice.Protocol;

namespace Sluice.Pooling;

/// <summary>A server opened for one replication client (see ClientConnection.Replication.cs).</summary>
internal sealed partial class ServerConnection
{
    private const string ClientLeftMidQuery = "client disconnected with query in progress";

    /// <summary>None for pooled servers; otherwise the walsender kind this server was opened as, for its one client.</summary>
    public ReplicationMode Replication { get; private init; }

    /// <summary>
    /// The client's side of the startup packet: the replication kind, its tracked parameters (applied here because
    /// a physical walsender accepts no SET) and its options exactly as it sent them. Later keys win in PostgreSQL,
    /// so the client's values override the database entry's.
    /// </summary>
    private void AddReplicationParameters(List<KeyValuePair<string, string>> startup, ClientConnection client)
    {
        startup.Add(new("replication", client.Replication.StartupValue()));
        var names = Pool.Pooler.Tracked.Names;
        var values = client.Parameters;
        for (var i = 0; i < names.Length && i < values.Length; i++)
        {
            if (values[i] is { } value)
            {
                startup.Add(new(names[i], value));
            }
        }
        if (!string.IsNullOrEmpty(client.ReplicationOptions))
        {
            startup.Add(new("options", client.ReplicationOptions));
        }
    }

    /// <summary>
    /// A refused walsender login (no REPLICATION role, no pg_hba.conf replication line) says nothing about ordinary
    /// logins to the same pool, so it fails only its own client, which gets PgBouncer's "login failed"; the server's
    /// own words go to the log.
    /// </summary>
    private ServerLoginException ReplicationLoginFailed(ErrorFields error)
    {
        var pooler = Pool.Pooler;
        Log.ServerConnectFailed(pooler.Logger, Peer, $"login failed: {error.Severity}: {error.Message}");
        if (pooler.Config.LogDisconnections)
        {
            Log.ServerClosing(pooler.Logger, Peer, "login failed", (long)pooler.Time.GetElapsedTime(ConnectTimestamp).TotalSeconds);
        }
        return new ServerLoginException(new ErrorFields("FATAL", SqlState.ProtocolViolation, "login failed"));
    }

    /// <summary>
    /// A walsender always has a query in progress (START_REPLICATION streams until the client stops it), so its
    /// client leaving is how a stream ends, not a lost query.
    /// </summary>
    private string ReplicationCloseReason(string reason) =>
        Replication != ReplicationMode.None && reason == ClientLeftMidQuery ? "replication client disconnected" : reason;
}
