namespace Sluice.Config;

/// <summary>
/// An immutable snapshot of the whole configuration. RELOAD builds a new one and swaps the reference, so
/// readers never see a half-applied file. Typed values are parsed once here, at load time.
/// </summary>
public sealed partial class PoolerConfig
{
    private static readonly IReadOnlyDictionary<string, DatabaseEntry> NoDatabases = new Dictionary<string, DatabaseEntry>(StringComparer.Ordinal);
    private static readonly IReadOnlyDictionary<string, UserEntry> NoUsers = new Dictionary<string, UserEntry>(StringComparer.Ordinal);
    private static readonly IReadOnlyDictionary<int, PeerEntry> NoPeers = new Dictionary<int, PeerEntry>();

    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _explicit = new(StringComparer.Ordinal);

    public static PoolerConfig Default { get; } = new(null, new Dictionary<string, string>(), NoDatabases, null, NoUsers, NoPeers);

    public string? ConfigFile { get; }

    /// <summary>Named databases, case-sensitive like PostgreSQL; the "*" entry is <see cref="FallbackDatabase"/>.</summary>
    public IReadOnlyDictionary<string, DatabaseEntry> Databases { get; }

    /// <summary>The "*" entry used to auto-create databases that are not listed; null = unknown names are refused.</summary>
    public DatabaseEntry? FallbackDatabase { get; }

    public IReadOnlyDictionary<string, UserEntry> Users { get; }

    public IReadOnlyDictionary<int, PeerEntry> Peers { get; }

    /// <summary>The effective value as SHOW CONFIG prints it (canonical spelling; the default when unset).</summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is not a [pgbouncer] setting.</exception>
    public string GetRaw(string key) =>
        _values.TryGetValue(key, out var value) ? value : throw new ArgumentException($"unknown parameter: {key}", nameof(key));

    public bool IsExplicitlySet(string key) => _explicit.Contains(key);

    /// <summary>A copy with one [pgbouncer] key changed (the console's SET); <paramref name="canonical"/> is already validated.</summary>
    public PoolerConfig WithSetting(string key, string canonical)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in _explicit)
        {
            values[name] = _values[name];
        }
        values[key] = canonical;
        return new PoolerConfig(ConfigFile, values, Databases, FallbackDatabase, Users, Peers);
    }

    public PoolMode ResolvePoolMode(DatabaseEntry? db, UserEntry? user) => user?.PoolMode ?? db?.PoolMode ?? PoolMode;

    public int ResolvePoolSize(DatabaseEntry? db, UserEntry? user) => user?.PoolSize ?? db?.PoolSize ?? DefaultPoolSize;

    public int ResolveReservePoolSize(DatabaseEntry? db, UserEntry? user) =>
        user?.ReservePoolSize ?? db?.ReservePoolSize ?? ReservePoolSize;

    public int ResolveMinPoolSize(DatabaseEntry? db) => db?.MinPoolSize ?? MinPoolSize;

    public TimeSpan ResolveServerLifetime(DatabaseEntry? db) =>
        db?.ServerLifetime is { } seconds and > 0 ? ValueParser.ToTimeSpan(seconds) : ServerLifetime;

    public TimeSpan ResolveQueryWaitTimeout(DatabaseEntry? db, UserEntry? user) =>
        (user?.QueryWaitTimeout ?? db?.QueryWaitTimeout) is { } seconds ? ValueParser.ToTimeSpan(seconds) : QueryWaitTimeout;

    /// <summary>Boot-only settings whose value differs in <paramref name="newer"/>; RELOAD keeps the old values for these.</summary>
    public IReadOnlyList<string> ChangedBootOnlySettings(PoolerConfig newer)
    {
        var changed = new List<string>();
        foreach (var setting in SettingsTable.All)
        {
            if (!setting.Reloadable && GetRaw(setting.Name) != newer.GetRaw(setting.Name))
            {
                changed.Add(setting.Name);
            }
        }

        return changed;
    }

    private void StoreValues(IReadOnlyDictionary<string, string> explicitValues)
    {
        foreach (var setting in SettingsTable.All)
        {
            if (explicitValues.TryGetValue(setting.Name, out var value))
            {
                _explicit.Add(setting.Name);
                _values[setting.Name] = value;
            }
            else if (setting.Name == "conffile" && ConfigFile is not null)
            {
                // PgBouncer reports the file it was started with until SET conffile changes it.
                _values[setting.Name] = ConfigFile;
            }
            else
            {
                _values[setting.Name] = DefaultText(setting);
            }
        }
    }

    private static string DefaultText(SettingDefinition setting)
    {
        if (setting.Default is null)
        {
            return setting.Type == SettingType.Int ? "0" : "";
        }

        ValueParser.Validate(setting, setting.Default, out var canonical);
        return canonical;
    }

    private string Str(string key) => _values[key];

    private string? OptionalStr(string key) => _values[key] is { Length: > 0 } value ? value : null;

    private int Int(string key) => ValueParser.TryParseInt(_values[key], out var value) ? value : 0;

    private bool Bool(string key) => _values[key] == "1";

    private TimeSpan Time(string key) =>
        ValueParser.TryParseSeconds(_values[key], out var seconds) ? ValueParser.ToTimeSpan(seconds) : TimeSpan.Zero;

    private IReadOnlyList<string> List(string key) => ValueParser.ParseList(_values[key]);
}
