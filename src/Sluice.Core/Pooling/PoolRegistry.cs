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
            // A pool first used during PAUSE is held like the others.
            added.Pause();
        }
        return added;
    }

    public ICollection<Pool> All => _pools.Values;
}
