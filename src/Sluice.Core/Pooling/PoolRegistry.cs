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

    public Pool GetOrCreate(DatabaseEntry database, string serverUser, UserEntry? user)
    {
        var key = new PoolKey(database.Name, serverUser);
        if (_pools.TryGetValue(key, out var pool))
        {
            return pool;
        }
        var created = new Pool(pooler, key, database, serverUser, PoolSettings.Resolve(pooler.Config, database, user),
            _databaseServers.GetOrAdd(database.Name, static _ => new ConnectionCounter()),
            _userServers.GetOrAdd(serverUser, static _ => new ConnectionCounter()));
        var added = _pools.GetOrAdd(key, created);
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
