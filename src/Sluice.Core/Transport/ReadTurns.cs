namespace Sluice.Transport;

/// <summary>
/// PgBouncer's <c>sbuf_loopcnt</c> for a read loop. Socket continuations run on the epoll threads, so a peer that
/// always has more data (a COPY, a huge result) would hold its thread, and every socket that thread serves,
/// for as long as it keeps sending. After <c>limit</c> reads in a row that found data waiting, the loop yields
/// to the thread pool once and comes back, as PgBouncer moves on to other connections. 0 means no limit.
/// </summary>
internal struct ReadTurns(int limit)
{
    private int _inARow;

    /// <summary>The loop had to wait for data: the run of ready reads is over.</summary>
    public void Waited() => _inARow = 0;

    /// <summary>Counts one read; true when the loop should yield before going on.</summary>
    public bool ShouldYield(bool foundDataWaiting)
    {
        if (!foundDataWaiting)
        {
            _inARow = 0;
            return false;
        }
        if (limit <= 0 || ++_inARow < limit)
        {
            return false;
        }
        _inARow = 0;
        return true;
    }
}
