using Sluice.Config;
using Sluice.Diagnostics;

namespace Sluice.Hosting;

public sealed partial class Pooler
{
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
}
