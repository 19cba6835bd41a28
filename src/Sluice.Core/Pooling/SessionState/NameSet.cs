namespace Sluice.Pooling.SessionState;

/// <summary>
/// A set of names that exists only from its first name on: nearly every session never LISTENs, PREPAREs or SETs
/// anything lasting, and its tracker then costs no hash sets at all.
/// </summary>
internal struct NameSet
{
    private HashSet<string>? _names;

    public readonly int Count => _names?.Count ?? 0;

    public void Add(string name) => (_names ??= new HashSet<string>(StringComparer.Ordinal)).Add(name);

    public readonly void Remove(string name) => _names?.Remove(name);

    public readonly void Clear() => _names?.Clear();

    public readonly string Join(string separator) => _names is null ? "" : string.Join(separator, _names);
}
