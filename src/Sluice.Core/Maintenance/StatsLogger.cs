using Sluice.Hosting;
using Sluice.Stats;

namespace Sluice.Maintenance;

/// <summary>
/// log_stats: every stats_period, one line with the rates and average times of the period, in PgBouncer's
/// format: "stats: 12 xacts/s, 34 queries/s, … in 100 B/s, out 200 B/s, xact 500 us, query 200 us, wait 0 us".
/// </summary>
internal sealed class StatsLogger(Pooler pooler)
{
    private PoolStatsSnapshot _last;
    private long _lastTimestamp = pooler.Time.GetTimestamp();

    public void MaybeLog(long now)
    {
        var config = pooler.Config;
        var elapsed = pooler.Time.GetElapsedTime(_lastTimestamp, now);
        if (!config.LogStats || config.StatsPeriod <= TimeSpan.Zero || elapsed < config.StatsPeriod)
        {
            return;
        }
        var total = default(PoolStatsSnapshot);
        foreach (var pool in pooler.Pools.All)
        {
            total += pool.Stats.Snapshot();
        }
        var d = total - _last;
        _last = total;
        _lastTimestamp = now;
        var seconds = Math.Max(elapsed.TotalSeconds, 0.001);
        Diagnostics.Log.Stats(pooler.Logger,
            (long)(d.XactCount / seconds), (long)(d.QueryCount / seconds),
            (long)(d.ClientParseCount / seconds), (long)(d.ServerParseCount / seconds), (long)(d.BindCount / seconds),
            (long)(d.ClientLoginCount / seconds),
            (long)(d.BytesReceived / seconds), (long)(d.BytesSent / seconds),
            d.XactCount > 0 ? d.XactTimeUs / d.XactCount : 0,
            d.QueryCount > 0 ? d.QueryTimeUs / d.QueryCount : 0,
            d.ServerAssignmentCount > 0 ? d.WaitTimeUs / d.ServerAssignmentCount : 0);
    }
}
