namespace Sluice.Pooling.Prepared;

/// <summary>A client's own statement names and what they stand for; created on the client's first named Parse.</summary>
internal sealed class ClientStatements
{
    private readonly Dictionary<byte[], PreparedStatement> _byName = new(ByteKeyComparer.Instance);
    private readonly Dictionary<byte[], PreparedStatement>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    public ClientStatements() => _lookup = _byName.GetAlternateLookup<ReadOnlySpan<byte>>();

    public int Count => _byName.Count;

    /// <summary>The name of the last Parse refused because the client already used it; PgBouncer logs it.</summary>
    public string? RefusedName { get; set; }

    public bool TryGet(ReadOnlySpan<byte> name, out PreparedStatement statement) => _lookup.TryGetValue(name, out statement!);

    public bool TryAdd(ReadOnlySpan<byte> name, PreparedStatement statement) => _lookup.TryAdd(name, statement);

    public void Remove(ReadOnlySpan<byte> name) => _lookup.Remove(name);

    public void Clear() => _byName.Clear();
}
