namespace Sluice.Pooling.Prepared;

/// <summary>
/// The distinct statements of the process, keyed by their Parse body (query and parameter types), so clients
/// preparing the same text share one server-side statement. It only deduplicates: clients and servers hold
/// their statements themselves, so when the registry outgrows its budget it is simply emptied — a client
/// parsing endless distinct texts cannot make it grow without bound.
/// </summary>
internal sealed class PreparedStatementRegistry
{
    public const int MaxEntries = 10_000;
    public const long MaxBytes = 8L * 1024 * 1024;
    private long _bytes;

    private readonly Dictionary<byte[], PreparedStatement> _byParseTail = new(ByteKeyComparer.Instance);
    private readonly Dictionary<byte[], PreparedStatement>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private long _nextId;

    public PreparedStatementRegistry() => _lookup = _byParseTail.GetAlternateLookup<ReadOnlySpan<byte>>();

    public int Count
    {
        get
        {
            lock (_byParseTail)
            {
                return _byParseTail.Count;
            }
        }
    }

    public PreparedStatement GetOrAdd(ReadOnlySpan<byte> parseTail)
    {
        lock (_byParseTail)
        {
            if (_lookup.TryGetValue(parseTail, out var existing))
            {
                return existing;
            }
            if (_byParseTail.Count >= MaxEntries || _bytes + parseTail.Length > MaxBytes)
            {
                _byParseTail.Clear();
                _bytes = 0;
            }
            var key = parseTail.ToArray();
            var created = new PreparedStatement(++_nextId, key);
            _byParseTail.Add(key, created);
            _bytes += key.Length;
            return created;
        }
    }
}
