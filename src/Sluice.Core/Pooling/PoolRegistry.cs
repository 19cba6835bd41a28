using System.Collections.Concurrent;
using Sluice.Config;
using Sluice.Hosting;

namespace Sluice.Pooling;

/// <summary>All pools, created on first use; their settings follow the config snapshot on reload.</summary>
internal sealed class PoolRegistry(Pooler pooler)
{
    private readonly ConcurrentDictionary<PoolKey, Pool> _pools = new();
    private readonly ConcurrentDictionary<string, ConnectionCounter> _databaseServers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConnectionCounter> _userServers = new(StringComparer.Ordinal);

    public Pool GetOrCreate(DatabaseEntry database, string serverUser, UserEntry? user) => GetOrCreate(pooler.Config, database, serverUser, user);

    /// <summary>
    /// The pool of <paramref name="database"/> and <paramref name="serverUser"/>, made from <paramref name="config"/>'s
    /// entries when it is new (a login makes it from its own snapshot's, which a reload may have replaced meanwhile).
    /// </summary>
    public Pool GetOrCreate(PoolerConfig config, DatabaseEntry database, string serverUser, UserEntry? user)
    {
        var key = new PoolKey(database.Name, serverUser);
        if (_pools.TryGetValue(key, out var pool))
        {
            return pool;
        }
        var created = new Pool(pooler, key, database, serverUser, PoolSettings.Resolve(config, database, user),
            _databaseServers.GetOrAdd(database.Name, static _ => new ConnectionCounter()),
            _userServers.GetOrAdd(serverUser, static _ => new ConnectionCounter()));
        var added = _pools.GetOrAdd(key, created);
        if (added == created)
        {
            pooler.CatchUp(added, config);
        }
        if (added == created && pooler.IsPausedFor(database.Name))
        {
            // A pool first used during PAUSE or SUSPEND is held like the others.
            if (pooler.IsSuspended)
            {
                added.Suspend();
            }
            else
            {
                added.Pause();
            }
        }
        return added;
    }

    public ICollection<Pool> All => _pools.Values;

    /// <summary>Forgets an unused pool (autodb_idle_timeout).</summary>
    public void Remove(Pool pool) => _pools.TryRemove(new KeyValuePair<PoolKey, Pool>(pool.Key, pool));

    /// <summary>Puts back a pool removed a moment too early (a client took it meanwhile).</summary>
    public void Restore(Pool pool) => _pools.TryAdd(pool.Key, pool);

    /// <summary>
    /// min_pool_size on a database with a forced user is kept even before any client came: its pool is made
    /// here, for the janitor to fill (PgBouncer does the same, and only for forced users, so that a database
    /// used by many users does not open servers for each of them).
    /// </summary>
    public void CreateMinimumPools(PoolerConfig config)
    {
        foreach (var database in config.Databases.Values)
        {
            if (!string.IsNullOrEmpty(database.User) && config.ResolveMinPoolSize(database) > 0)
            {
                GetOrCreate(config, database, database.User, config.Users.GetValueOrDefault(database.User));
            }
        }
    }

    /// <summary>
    /// max_db_connections / max_user_connections are full and <paramref name="requester"/> has clients waiting:
    /// close one idle server of another pool of the same database or user, then let the requester use the slot.
    /// </summary>
    public void EvictIdleServerFor(Pool requester)
    {
        foreach (var pool in _pools.Values)
        {
            if (pool != requester && (pool.Key.Database == requester.Key.Database || pool.ServerUser == requester.ServerUser)
                && pool.TryCloseOneIdle("evicted for a waiting client of another pool (max_db_connections / max_user_connections)"))
            {
                requester.LaunchPending();
                return;
            }
        }
    }
}
