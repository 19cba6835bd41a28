namespace Sluice.Config;

/// <summary>Reads pgbouncer.ini into a <see cref="PoolerConfig"/>. Any error aborts the load, so a bad RELOAD leaves the old snapshot in place.</summary>
public static partial class ConfigLoader
{
    private const string MainSection = "pgbouncer";

    /// <exception cref="ConfigException">The file or an included file cannot be read or is invalid.</exception>
    public static PoolerConfig LoadFile(string path) => Build(IniReader.ReadFile(path), path, path);

    /// <summary>Parses ini text; <c>%include</c> paths are resolved against the current directory, as PgBouncer does.</summary>
    /// <exception cref="ConfigException">The text or an included file is invalid.</exception>
    public static PoolerConfig LoadText(string text, string fileName = "<string>") =>
        Build(IniReader.ReadText(text, fileName), fileName, configFile: null);

    private static PoolerConfig Build(IReadOnlyList<IniEntry> entries, string fileName, string? configFile)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var databases = new Dictionary<string, DatabaseEntry>(StringComparer.Ordinal);
        var users = new Dictionary<string, UserEntry>(StringComparer.Ordinal);
        var peers = new Dictionary<int, PeerEntry>();
        DatabaseEntry? fallback = null;
        string? section = null;
        var sawMain = false;

        foreach (var entry in entries)
        {
            if (entry.IsSection)
            {
                section = entry.Name is MainSection or "databases" or "users" or "peers"
                    ? entry.Name
                    : throw new ConfigException($"unknown section [{entry.Name}]", entry.File, entry.Line);
                sawMain |= section == MainSection;
                continue;
            }

            var value = entry.Value!;
            try
            {
                switch (section)
                {
                    case MainSection:
                        values[entry.Name] = ValidateSetting(entry.Name, value);
                        break;
                    case "databases":
                        var db = DatabaseEntry.Parse(CheckDatabaseName(entry), value);
                        if (db.IsFallback)
                        {
                            fallback = db;
                        }
                        else
                        {
                            databases[db.Name] = db;
                        }

                        break;
                    case "users":
                        users[entry.Name] = UserEntry.Parse(entry.Name, value);
                        break;
                    case "peers":
                        var peer = PeerEntry.Parse(entry.Name, value);
                        peers[peer.Id] = peer;
                        break;
                    default:
                        throw new ConfigException("setting outside of any section", key: entry.Name);
                }
            }
            catch (ConfigException e)
            {
                throw e.At(entry.File, entry.Line);
            }
        }

        return sawMain
            ? new PoolerConfig(configFile, values, databases, fallback, users, peers)
            : throw new ConfigException("main section missing from config file", fileName);
    }

    private static string ValidateSetting(string key, string value)
    {
        var setting = SettingsTable.Find(key) ?? throw new ConfigException("unknown parameter", key: key);
        if (ValueParser.Validate(setting, value, out var canonical) is { } problem)
        {
            throw new ConfigException(problem, key: key);
        }

        if (key == "auth_dbname" && value == DatabaseEntry.AdminDatabaseName)
        {
            throw new ConfigException($"cannot use the reserved \"{DatabaseEntry.AdminDatabaseName}\" database as an auth_dbname", key: key);
        }

        return canonical;
    }

    private static string CheckDatabaseName(IniEntry entry)
    {
        // '*' is only meaningful as the whole name; anything else with it must be quoted.
        if (!entry.QuotedName && entry.Name != DatabaseEntry.FallbackName && entry.Name.Contains('*', StringComparison.Ordinal))
        {
            throw new ConfigException("invalid database name", key: entry.Name);
        }

        return entry.Name;
    }
}
