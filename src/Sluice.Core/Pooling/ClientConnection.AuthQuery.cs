using Sluice.Auth;
using Sluice.Config;
using Sluice.Diagnostics;

namespace Sluice.Pooling;

internal sealed partial class ClientConnection
{
    /// <summary>The secret auth_query returned; the pool logs in to PostgreSQL with it (as PgBouncer's dynamic users).</summary>
    private PasswordSecret? _authQuerySecret;

    /// <summary>
    /// auth_user + auth_query: a user missing from auth_file is looked up in PostgreSQL (pg_authid by default,
    /// so SCRAM secrets work and enable pass-through), over a server of the (auth_dbname or target database,
    /// auth_user) pool. Returns null when the user is unknown, cannot log in, or the lookup failed.
    /// </summary>
    private async Task<PasswordSecret?> LookUpWithAuthQueryAsync(DatabaseEntry database, string authUser, string user, PoolerConfig config)
    {
        var authDatabase = database;
        if ((database.AuthDbName ?? config.AuthDbName) is { Length: > 0 } authDbName && Pooler.FindDatabase(authDbName) is { } entry)
        {
            authDatabase = entry;
        }
        config.Users.TryGetValue(authUser, out var authUserEntry);
        var pool = Pooler.Pools.GetOrCreate(authDatabase, authUser, authUserEntry);
        ServerConnection server;
        try
        {
            server = await pool.AcquireAsync(this).ConfigureAwait(false);
        }
        catch (ServerLoginException e)
        {
            Log.PoolerError(Pooler.Logger, Peer, "auth_query could not log in as auth_user: " + e.Error.Message);
            return null;
        }
        var query = database.AuthQuery ?? config.AuthQuery;
        var (error, row) = await server.RunAuthQueryAsync(query, user).ConfigureAwait(false);
        if (error is not null)
        {
            Log.PoolerError(Pooler.Logger, Peer, "auth_query failed: " + error.Value.Message);
            server.Close("auth_query failed");
            return null;
        }
        server.ReleaseAfterInternal();
        // (name, secret): a NULL secret (expired, or no password) means the user cannot log in.
        return row is { Length: >= 2 } && row[1] is { Length: > 0 } secret ? PasswordSecret.Parse(secret) : null;
    }
}
