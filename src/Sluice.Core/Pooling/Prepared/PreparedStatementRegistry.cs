namespace Sluice.Pooling.Prepared;

/// <summary>All distinct statements of the process, keyed by their Parse body (query and parameter types).</summary>
internal sealed class PreparedStatementRegistry
{
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
            var key = parseTail.ToArray();
            var created = new PreparedStatement(++_nextId, key);
            _byParseTail.Add(key, created);
            return created;
        }
    }
}
