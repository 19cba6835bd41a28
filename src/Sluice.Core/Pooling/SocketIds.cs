namespace Sluice.Pooling;

/// <summary>
/// The id column of SHOW CLIENTS/SERVERS/SOCKETS and KILL_CLIENT's argument. PgBouncer draws client and
/// server ids from one counter, so a new client and the server opened for it get consecutive numbers;
/// tools and its test suite rely on that. One counter per pooler: a process hosting several (the tests do)
/// keeps each one's numbering as a PgBouncer process would have it.
/// </summary>
internal sealed class SocketIds
{
    private long _last;

    public long Next() => Interlocked.Increment(ref _last);
}
