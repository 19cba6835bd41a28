namespace Sluice.Pooling;

/// <summary>
/// Server connections shared by several pools: all pools of one database (max_db_connections) or of one
/// user (max_user_connections) hold the same counter.
/// </summary>
internal sealed class ConnectionCounter
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Takes a slot unless <paramref name="limit"/> (0 = unlimited) is reached.</summary>
    public bool TryTake(int limit)
    {
        while (true)
        {
            var current = Volatile.Read(ref _count);
            if (limit > 0 && current >= limit)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _count, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public void Release() => Interlocked.Decrement(ref _count);
}
