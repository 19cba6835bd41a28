namespace Sluice.Stats;

/// <summary>
/// A fixed-bucket histogram of durations, recorded with one interlocked add on the I/O path. PgBouncer only
/// reports averages; these give /metrics the wait-time and query-time distributions.
/// </summary>
internal sealed class LatencyHistogram
{
    /// <summary>Upper bounds in microseconds (Prometheus "le" in seconds: 0.0001 … 10).</summary>
    public static readonly long[] BoundsUs = [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 10_000_000];

    private readonly long[] _counts = new long[BoundsUs.Length + 1];
    private long _sumUs;

    public void Record(long us)
    {
        var i = 0;
        while (i < BoundsUs.Length && us > BoundsUs[i])
        {
            i++;
        }
        Interlocked.Increment(ref _counts[i]);
        Interlocked.Add(ref _sumUs, us);
    }

    /// <summary>Cumulative counts per bucket (the last is +Inf = total) and the sum in microseconds.</summary>
    public (long[] Cumulative, long SumUs) Snapshot()
    {
        var cumulative = new long[_counts.Length];
        long running = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            running += Interlocked.Read(ref _counts[i]);
            cumulative[i] = running;
        }
        return (cumulative, Interlocked.Read(ref _sumUs));
    }
}
