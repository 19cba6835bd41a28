using Sluice.Auth;
using Sluice.Config;
using Sluice.Diagnostics;
using Sluice.Protocol;

namespace Sluice.Pooling;

internal sealed partial class ClientConnection
{
    /// <summary>The secret auth_query returned; the pool logs in to PostgreSQL with it (as PgBouncer's dynamic users).</summary>
    private PasswordSecret? _authQuerySecret;

    /// <summary>What auth_query said about a user missing from auth_file.</summary>
    private enum AuthQueryOutcome
    {
        /// <summary>A row came back: the user exists (its secret may still be NULL, which no password matches).</summary>
        Found,

        /// <summary>No row: PgBouncer answers "no such user" at once, without a mock password exchange.</summary>
        NotFound,

        /// <summary>The lookup could not run; the client has already been disconnected with the reason.</summary>
        Failed,
    }

    /// <summary>
    /// The auth_user whose auth_query vouches for users missing from auth_file: the database's own, else the global
    /// one. The admin console uses the global one; a database that is not configured (no entry, no '*') has none,
    /// so its clients get the usual mock exchange instead of a query against nothing.
    /// </summary>
    private static string? AuthUserFor(DatabaseEntry? database, string? databaseName, PoolerConfig config)
    {
        var authUser = database is not null ? database.AuthUser ?? config.AuthUser
            : databaseName == DatabaseEntry.AdminDatabaseName ? config.AuthUser
            : null;
        return string.IsNullOrEmpty(authUser) ? null : authUser;
    }

    /// <summary>
    /// auth_user + auth_query: a user missing from auth_file is looked up in PostgreSQL (pg_authid by default,
    /// so SCRAM secrets work and enable pass-through), over a server of the (auth database, auth_user) pool.
    /// <paramref name="database"/> is null for the admin console, which has no servers of its own.
    /// </summary>
    private async Task<(AuthQueryOutcome Outcome, PasswordSecret? Secret)> LookUpWithAuthQueryAsync(DatabaseEntry? database, string authUser, string user, PoolerConfig config)
    {
        var authDatabase = ResolveAuthDatabase(database, config);
        if (authDatabase is null)
        {
            return (AuthQueryOutcome.Failed, null);
        }
        config.Users.TryGetValue(authUser, out var authUserEntry);
        var pool = Pooler.Pools.GetOrCreate(config, authDatabase, authUser, authUserEntry);
        ServerConnection server;
        try
        {
            server = await pool.AcquireAsync(this).ConfigureAwait(false);
        }
        catch (ServerLoginException e)
        {
            // The client learns why, as PgBouncer passes a failed server login on to the clients waiting for it
            // (e.g. 'database "x" does not exist' for an auto-database PostgreSQL does not have).
            Disconnect(e.Error.Message, e.Error.SqlState);
            return (AuthQueryOutcome.Failed, null);
        }
        var query = database?.AuthQuery ?? config.AuthQuery;
        var (error, row) = await server.RunAuthQueryAsync(query, user).ConfigureAwait(false);
        if (error is not null)
        {
            // The operator needs the server's words; the client only learns that the setup is wrong.
            Log.PoolerError(Pooler.Logger, Peer, "error in auth_query: " + error.Value.Message);
            server.Close("error response from auth_query");
            Disconnect("bouncer config error", SqlState.ProtocolViolation);
            return (AuthQueryOutcome.Failed, null);
        }
        if (row is not null && (row.Length != 2 || row[0] is null))
        {
            // Anything but (name, secret) is a query written for something else; guessing could let anyone in.
            Log.PoolerError(Pooler.Logger, Peer, $"auth_query must return 2 columns (user name, secret), got {row.Length}{(row.Length == 2 ? " with a NULL user name" : "")}");
            server.Close("unexpected response from auth_query");
            Disconnect("bouncer config error", SqlState.ProtocolViolation);
            return (AuthQueryOutcome.Failed, null);
        }
        server.ReleaseAfterInternal();
        if (row is null)
        {
            return (AuthQueryOutcome.NotFound, null);
        }
        // A NULL secret (expired, or no password) leaves a user that no password logs in as; trust still admits it.
        return (AuthQueryOutcome.Found, row[1] is { Length: > 0 } secret ? PasswordSecret.Parse(secret) : null);
    }

    /// <summary>
    /// Where auth_query runs: the database's auth_dbname, else the global one, else the client's own database.
    /// Returns null after disconnecting the client when that database is missing, disabled, or the admin console
    /// (which has no PostgreSQL behind it to ask).
    /// </summary>
    private DatabaseEntry? ResolveAuthDatabase(DatabaseEntry? database, PoolerConfig config)
    {
        var authDbName = database?.AuthDbName ?? config.AuthDbName;
        if (string.IsNullOrEmpty(authDbName))
        {
            if (database is not null)
            {
                return database;
            }
            authDbName = DatabaseEntry.AdminDatabaseName;
        }
        if (authDbName == DatabaseEntry.AdminDatabaseName)
        {
            Log.PoolerError(Pooler.Logger, Peer, $"cannot use the reserved \"{authDbName}\" database as an auth_dbname");
            Disconnect("bouncer config error", SqlState.ProtocolViolation);
            return null;
        }
        if (Pooler.FindDatabase(authDbName, config) is not { } authDatabase)
        {
            Log.PoolerError(Pooler.Logger, Peer, $"authentication database \"{authDbName}\" is not configured.");
            Disconnect("bouncer config error", SqlState.ProtocolViolation);
            return null;
        }
        if (Pooler.IsDisabled(authDbName))
        {
            Disconnect($"authentication database \"{authDbName}\" is disabled", SqlState.ProtocolViolation);
            return null;
        }
        return authDatabase;
    }
}
