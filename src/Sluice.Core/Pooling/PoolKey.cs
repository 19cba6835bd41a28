namespace Sluice.Pooling;

/// <summary>One pool per (database as named by clients, user the servers log in as).</summary>
internal readonly record struct PoolKey(string Database, string User)
{
    public override string ToString() => $"{Database}/{User}";
}
