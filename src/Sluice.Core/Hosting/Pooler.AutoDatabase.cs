using System.Collections.Concurrent;
using Sluice.Config;
using Sluice.Diagnostics;

namespace Sluice.Hosting;

public sealed partial class Pooler
{
    /// <summary>When each auto-database was last seen with no client and no server (absent while in use).</summary>
    private readonly ConcurrentDictionary<string, long> _autoDatabaseIdleSince = new(StringComparer.Ordinal);

    /// <summary>The first login to a name only the '*' entry serves makes it a database of its own, logged as PgBouncer does.</summary>
    private DatabaseEntry RegisterAutoDatabase(string name, DatabaseEntry fallback)
    {
        var entry = DatabaseEntry.Parse(name, fallback.ConnectionString);
        if (_autoDatabases.TryAdd(name, entry))
        {
            Log.AutoDatabaseRegistered(Logger, name);
            return entry;
        }
        return _autoDatabases[name];
    }

    /// <summary>
    /// autodb_idle_timeout (janitor): an auto-database whose pools have had no client and no server for that long
    /// is forgotten with its pools; the next login registers it afresh. A paused one is kept, as PgBouncer does.
    /// </summary>
    internal void DropIdleAutoDatabases(long now)
    {
        var timeout = Config.AutodbIdleTimeout;
        if (timeout <= TimeSpan.Zero || _autoDatabases.IsEmpty)
        {
            return;
        }
        foreach (var name in _autoDatabases.Keys)
        {
            if (IsInUse(name) || IsPausedFor(name))
            {
                _autoDatabaseIdleSince.TryRemove(name, out _);
                continue;
            }
            var since = _autoDatabaseIdleSince.GetOrAdd(name, now);
            if (Time.GetElapsedTime(since, now) <= timeout)
            {
                continue;
            }
            _autoDatabaseIdleSince.TryRemove(name, out _);
            _autoDatabases.TryRemove(name, out _);
            foreach (var pool in Select(name).ToList())
            {
                Pools.Remove(pool);
                // A login that took the pool a moment ago keeps it registered.
                if (pool.ClientCount > 0 || pool.ServerCount > 0)
                {
                    Pools.Restore(pool);
                }
            }
        }

        bool IsInUse(string database)
        {
            foreach (var pool in Select(database))
            {
                if (pool.ClientCount > 0 || pool.ServerCount > 0)
                {
                    return true;
                }
            }
            return false;
        }
    }
}
