using Sluice.Config;
using Sluice.Protocol;

namespace Sluice.Pooling;

internal sealed partial class ClientConnection
{
    /// <summary>
    /// Set once the pool counted this client (ClientJoined), so that a login failing afterwards (the first
    /// server refusing it) still takes it off the pool's count.
    /// </summary>
    private bool _joinedPool;

    /// <summary>
    /// The console counts as database "pgbouncer" for max_db_client_connections and as its login user for
    /// max_user_client_connections, as in PgBouncer: admin_users are counted but never refused, so an operator
    /// can still get in when the limits are reached. The OS user's own Unix-socket login is counted against
    /// the database only (PgBouncer logs it in as the console's built-in user).
    /// </summary>
    private ValueTask<bool> AdmitToConsoleAsync(PoolerConfig config, string user, bool peerIsSelf)
    {
        var exempt = IsListed(config.AdminUsers, user);
        var databaseLimit = exempt ? 0 : config.MaxDbClientConnections;
        var userLimit = exempt ? 0 : config.Users.GetValueOrDefault(user)?.MaxUserClientConnections ?? config.MaxUserClientConnections;
        return AdmitWithinClientLimitsAsync(DatabaseEntry.AdminDatabaseName, databaseLimit, peerIsSelf ? null : user, userLimit);
    }

    /// <summary>
    /// max_db_client_connections and max_user_client_connections; a refused client gets PgBouncer's error.
    /// A client that has just disconnected may not have given its slot back yet, because its close runs on
    /// another thread (PgBouncer's single event loop would have handled it first): a refusal is checked once
    /// more after a short pause, so a client that the limit has room for is not turned away.
    /// </summary>
    private async ValueTask<bool> AdmitWithinClientLimitsAsync(string database, int databaseLimit, string? user, int userLimit)
    {
        if (Pooler.TryAdmitToDatabaseAndUser(this, database, databaseLimit, user, userLimit, out _))
        {
            return true;
        }
        await Task.Delay(LimitRecheckDelay, Pooler.Time).ConfigureAwait(false);
        if (Pooler.TryAdmitToDatabaseAndUser(this, database, databaseLimit, user, userLimit, out var error))
        {
            return true;
        }
        Disconnect(error!, SqlState.ProtocolViolation);
        return false;
    }

    private static readonly TimeSpan LimitRecheckDelay = TimeSpan.FromMilliseconds(50);

    private static bool IsListed(IReadOnlyList<string> names, string user)
    {
        foreach (var name in names)
        {
            if (name == user)
            {
                return true;
            }
        }
        return false;
    }
}
