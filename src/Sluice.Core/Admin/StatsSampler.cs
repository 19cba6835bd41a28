using Sluice.Stats;

namespace Sluice.Admin;

/// <summary>
/// The avg_* values of SHOW STATS / STATS_AVERAGES / TOTALS. PgBouncer recomputes them every stats_period
/// from the counters' growth over that period; Sluice has no periodic sampler yet, so this one rolls over
/// lazily: when a SHOW finds the last sample at least stats_period old, the averages become the growth since
/// that sample divided by the time elapsed, and a new sample is taken. Until the first roll-over (one
/// stats_period after the first SHOW) the averages are 0, as they are in PgBouncer's first period.
/// The averages are held in a <see cref="PoolStatsSnapshot"/>: rates per second for counts and bytes,
/// mean microseconds for xact_time / query_time (per transaction / query) and wait_time (per assignment).
/// </summary>
internal sealed class StatsSampler
{
    private readonly object _lock = new();
    private Dictionary<string, PoolStatsSnapshot> _baseline = new(StringComparer.Ordinal);
    private Dictionary<string, PoolStatsSnapshot> _averages = new(StringComparer.Ordinal);
    private long _sampleTimestamp;
    private bool _sampled;

    public IReadOnlyDictionary<string, PoolStatsSnapshot> Update(TimeProvider time, TimeSpan period, IReadOnlyDictionary<string, PoolStatsSnapshot> current)
    {
        if (period <= TimeSpan.Zero)
        {
            period = TimeSpan.FromSeconds(60);
        }
        var now = time.GetTimestamp();
        lock (_lock)
        {
            if (!_sampled)
            {
                _baseline = new Dictionary<string, PoolStatsSnapshot>(current, StringComparer.Ordinal);
                _sampleTimestamp = now;
                _sampled = true;
                return _averages;
            }
            var elapsed = time.GetElapsedTime(_sampleTimestamp, now);
            if (elapsed < period)
            {
                return _averages;
            }
            var averages = new Dictionary<string, PoolStatsSnapshot>(StringComparer.Ordinal);
            foreach (var (key, snapshot) in current)
            {
                _baseline.TryGetValue(key, out var before);
                averages[key] = Average(snapshot - before, elapsed);
            }
            _averages = averages;
            _baseline = new Dictionary<string, PoolStatsSnapshot>(current, StringComparer.Ordinal);
            _sampleTimestamp = now;
            return _averages;
        }
    }

    public static PoolStatsSnapshot Average(PoolStatsSnapshot delta, TimeSpan elapsed)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-6);
        long Rate(long value) => (long)(value / seconds);
        static long Mean(long total, long count) => count > 0 ? total / count : 0;
        return new PoolStatsSnapshot(
            Rate(delta.ServerAssignmentCount),
            Rate(delta.XactCount),
            Rate(delta.QueryCount),
            Rate(delta.BytesReceived),
            Rate(delta.BytesSent),
            Mean(delta.XactTimeUs, delta.XactCount),
            Mean(delta.QueryTimeUs, delta.QueryCount),
            Mean(delta.WaitTimeUs, delta.ServerAssignmentCount),
            Rate(delta.ClientParseCount),
            Rate(delta.ServerParseCount),
            Rate(delta.BindCount),
            Rate(delta.ClientLoginCount));
    }
}
