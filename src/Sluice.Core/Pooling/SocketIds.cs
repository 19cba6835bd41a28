namespace Sluice.Pooling;

/// <summary>
/// The id column of SHOW CLIENTS/SERVERS/SOCKETS and KILL_CLIENT's argument. PgBouncer draws client and
/// server ids from one counter, so a new client and the server opened for it get consecutive numbers;
/// tools and its test suite rely on that.
/// </summary>
internal static class SocketIds
{
    private static long s_last;

    public static long Next() => Interlocked.Increment(ref s_last);
}
