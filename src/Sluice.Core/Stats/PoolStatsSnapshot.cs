namespace Sluice.Stats;

/// <summary>Totals of a pool (or a database: snapshots add up) at one moment; field order follows SHOW STATS_TOTALS.</summary>
internal readonly record struct PoolStatsSnapshot(
    long ServerAssignmentCount,
    long XactCount,
    long QueryCount,
    long BytesReceived,
    long BytesSent,
    long XactTimeUs,
    long QueryTimeUs,
    long WaitTimeUs,
    long ClientParseCount,
    long ServerParseCount,
    long BindCount,
    long ClientLoginCount)
{
    public static PoolStatsSnapshot operator +(PoolStatsSnapshot a, PoolStatsSnapshot b) => new(
        a.ServerAssignmentCount + b.ServerAssignmentCount,
        a.XactCount + b.XactCount,
        a.QueryCount + b.QueryCount,
        a.BytesReceived + b.BytesReceived,
        a.BytesSent + b.BytesSent,
        a.XactTimeUs + b.XactTimeUs,
        a.QueryTimeUs + b.QueryTimeUs,
        a.WaitTimeUs + b.WaitTimeUs,
        a.ClientParseCount + b.ClientParseCount,
        a.ServerParseCount + b.ServerParseCount,
        a.BindCount + b.BindCount,
        a.ClientLoginCount + b.ClientLoginCount);

    public static PoolStatsSnapshot operator -(PoolStatsSnapshot a, PoolStatsSnapshot b) => new(
        a.ServerAssignmentCount - b.ServerAssignmentCount,
        a.XactCount - b.XactCount,
        a.QueryCount - b.QueryCount,
        a.BytesReceived - b.BytesReceived,
        a.BytesSent - b.BytesSent,
        a.XactTimeUs - b.XactTimeUs,
        a.QueryTimeUs - b.QueryTimeUs,
        a.WaitTimeUs - b.WaitTimeUs,
        a.ClientParseCount - b.ClientParseCount,
        a.ServerParseCount - b.ServerParseCount,
        a.BindCount - b.BindCount,
        a.ClientLoginCount - b.ClientLoginCount);
}
