namespace Sluice.Stats;

/// <summary>
/// Counters of one pool, bumped on the I/O path with interlocked adds and read as a snapshot by SHOW STATS
/// and /metrics. Times are microseconds, as PgBouncer reports them.
/// </summary>
internal sealed class PoolStats
{
    private long _serverAssignments;
    private long _xactCount;
    private long _queryCount;
    private long _bytesReceived;
    private long _bytesSent;
    private long _xactTimeUs;
    private long _queryTimeUs;
    private long _waitTimeUs;
    private long _clientLogins;
    private long _clientParses;
    private long _serverParses;
    private long _binds;
    private long _pins;
    private long _pinnedTimeUs;

    public void AddPin() => Interlocked.Increment(ref _pins);

    public void AddPinnedTime(long us) => Interlocked.Add(ref _pinnedTimeUs, us);

    public long PinCount => Interlocked.Read(ref _pins);

    public long PinnedTimeUs => Interlocked.Read(ref _pinnedTimeUs);

    /// <summary>How long clients waited for a server, per assignment.</summary>
    public LatencyHistogram WaitTimes { get; } = new();

    /// <summary>How long queries took, from the first byte sent to the server to its ReadyForQuery.</summary>
    public LatencyHistogram QueryTimes { get; } = new();

    public void AddServerAssignment(long waitUs)
    {
        Interlocked.Increment(ref _serverAssignments);
        WaitTimes.Record(waitUs);
        if (waitUs > 0)
        {
            Interlocked.Add(ref _waitTimeUs, waitUs);
        }
    }

    public void AddQuery(long queryUs)
    {
        QueryTimes.Record(queryUs);
        Interlocked.Increment(ref _queryCount);
        Interlocked.Add(ref _queryTimeUs, queryUs);
    }

    public void AddTransaction(long xactUs)
    {
        Interlocked.Increment(ref _xactCount);
        Interlocked.Add(ref _xactTimeUs, xactUs);
    }

    /// <summary>
    /// A console session's first command: PgBouncer starts an admin client's query and transaction clocks there
    /// and, with no server to answer ReadyForQuery, never stops them, so each session counts once and adds no time.
    /// </summary>
    public void AddConsoleSession()
    {
        Interlocked.Increment(ref _queryCount);
        Interlocked.Increment(ref _xactCount);
    }

    public void AddReceived(long bytes) => Interlocked.Add(ref _bytesReceived, bytes);

    public void AddSent(long bytes) => Interlocked.Add(ref _bytesSent, bytes);

    public void AddClientLogin() => Interlocked.Increment(ref _clientLogins);

    public void AddClientParse() => Interlocked.Increment(ref _clientParses);

    public void AddServerParse() => Interlocked.Increment(ref _serverParses);

    public void AddBind() => Interlocked.Increment(ref _binds);

    public PoolStatsSnapshot Snapshot() => new(
        Interlocked.Read(ref _serverAssignments),
        Interlocked.Read(ref _xactCount),
        Interlocked.Read(ref _queryCount),
        Interlocked.Read(ref _bytesReceived),
        Interlocked.Read(ref _bytesSent),
        Interlocked.Read(ref _xactTimeUs),
        Interlocked.Read(ref _queryTimeUs),
        Interlocked.Read(ref _waitTimeUs),
        Interlocked.Read(ref _clientParses),
        Interlocked.Read(ref _serverParses),
        Interlocked.Read(ref _binds),
        Interlocked.Read(ref _clientLogins));
}
