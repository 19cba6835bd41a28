using Sluice.Stats;

namespace Sluice.Admin;

/// <summary>
/// SHOW STATS, STATS_TOTALS, STATS_AVERAGES and TOTALS with PgBouncer 1.25's columns: one row per database,
/// the sum of its pools' counters. The *_client_login_count columns are 1.26's and are left out.
/// </summary>
internal static class ShowStats
{
    private const string TotalKey = "\0total";

    public static readonly AdminColumn[] StatsColumns =
    [
        AdminColumn.Text("database"),
        AdminColumn.Numeric("total_server_assignment_count"),
        AdminColumn.Numeric("total_xact_count"),
        AdminColumn.Numeric("total_query_count"),
        AdminColumn.Numeric("total_received"),
        AdminColumn.Numeric("total_sent"),
        AdminColumn.Numeric("total_xact_time"),
        AdminColumn.Numeric("total_query_time"),
        AdminColumn.Numeric("total_wait_time"),
        AdminColumn.Numeric("total_client_parse_count"),
        AdminColumn.Numeric("total_server_parse_count"),
        AdminColumn.Numeric("total_bind_count"),
        AdminColumn.Numeric("avg_server_assignment_count"),
        AdminColumn.Numeric("avg_xact_count"),
        AdminColumn.Numeric("avg_query_count"),
        AdminColumn.Numeric("avg_recv"),
        AdminColumn.Numeric("avg_sent"),
        AdminColumn.Numeric("avg_xact_time"),
        AdminColumn.Numeric("avg_query_time"),
        AdminColumn.Numeric("avg_wait_time"),
        AdminColumn.Numeric("avg_client_parse_count"),
        AdminColumn.Numeric("avg_server_parse_count"),
        AdminColumn.Numeric("avg_bind_count"),
    ];

    public static readonly AdminColumn[] TotalsColumns =
    [
        AdminColumn.Text("database"),
        AdminColumn.Numeric("server_assignment_count"),
        AdminColumn.Numeric("xact_count"),
        AdminColumn.Numeric("query_count"),
        AdminColumn.Numeric("bytes_received"),
        AdminColumn.Numeric("bytes_sent"),
        AdminColumn.Numeric("xact_time"),
        AdminColumn.Numeric("query_time"),
        AdminColumn.Numeric("wait_time"),
        AdminColumn.Numeric("client_parse_count"),
        AdminColumn.Numeric("server_parse_count"),
        AdminColumn.Numeric("bind_count"),
    ];

    public static readonly AdminColumn[] AveragesColumns =
    [
        AdminColumn.Text("database"),
        AdminColumn.Numeric("server_assignment_count"),
        AdminColumn.Numeric("xact_count"),
        AdminColumn.Numeric("query_count"),
        AdminColumn.Numeric("bytes_received"),
        AdminColumn.Numeric("bytes_sent"),
        AdminColumn.Numeric("xact_time"),
        AdminColumn.Numeric("query_time"),
        AdminColumn.Numeric("wait_time"),
        AdminColumn.Numeric("avg_client_parse_count"),
        AdminColumn.Numeric("avg_server_parse_count"),
        AdminColumn.Numeric("avg_bind_count"),
    ];

    public static readonly AdminColumn[] NameValueColumns = [AdminColumn.Text("name"), AdminColumn.Numeric("value")];

    /// <summary>SHOW TOTALS row names (struct field names, as PgBouncer prints them), without 1.26's client_login_count.</summary>
    public static readonly string[] TotalsRowNames =
    [
        "server_assignment_count", "xact_count", "query_count", "client_bytes", "server_bytes",
        "xact_time", "query_time", "wait_time", "ps_client_parse_count", "ps_server_parse_count", "ps_bind_count",
    ];

    public static ValueTask Stats(AdminContext ctx, AdminCommand command)
    {
        var (names, totals, averages) = Collect(ctx);
        var result = ctx.BeginResult(StatsColumns);
        foreach (var name in names)
        {
            var t = totals[name];
            var a = averages.GetValueOrDefault(name);
            result.Row(name,
                t.ServerAssignmentCount, t.XactCount, t.QueryCount, t.BytesReceived, t.BytesSent,
                t.XactTimeUs, t.QueryTimeUs, t.WaitTimeUs, t.ClientParseCount, t.ServerParseCount, t.BindCount,
                a.ServerAssignmentCount, a.XactCount, a.QueryCount, a.BytesReceived, a.BytesSent,
                a.XactTimeUs, a.QueryTimeUs, a.WaitTimeUs, a.ClientParseCount, a.ServerParseCount, a.BindCount);
        }
        result.Complete();
        return ValueTask.CompletedTask;
    }

    public static ValueTask StatsTotals(AdminContext ctx, AdminCommand command)
    {
        var (names, totals, _) = Collect(ctx);
        var result = ctx.BeginResult(TotalsColumns);
        foreach (var name in names)
        {
            WriteRow(result, name, totals[name]);
        }
        result.Complete();
        return ValueTask.CompletedTask;
    }

    public static ValueTask StatsAverages(AdminContext ctx, AdminCommand command)
    {
        var (names, _, averages) = Collect(ctx);
        var result = ctx.BeginResult(AveragesColumns);
        foreach (var name in names)
        {
            WriteRow(result, name, averages.GetValueOrDefault(name));
        }
        result.Complete();
        return ValueTask.CompletedTask;
    }

    public static ValueTask Totals(AdminContext ctx, AdminCommand command)
    {
        var (_, totals, averages) = Collect(ctx);
        var t = totals[TotalKey];
        var a = averages.GetValueOrDefault(TotalKey);
        var result = ctx.BeginResult(NameValueColumns);
        var values = Values(t);
        for (var i = 0; i < TotalsRowNames.Length; i++)
        {
            result.Row("total_" + TotalsRowNames[i], values[i]);
        }
        values = Values(a);
        for (var i = 0; i < TotalsRowNames.Length; i++)
        {
            result.Row("avg_" + TotalsRowNames[i], values[i]);
        }
        result.Complete();
        return ValueTask.CompletedTask;
    }

    private static void WriteRow(ResultSetWriter result, string name, PoolStatsSnapshot s) =>
        result.Row(name,
            s.ServerAssignmentCount, s.XactCount, s.QueryCount, s.BytesReceived, s.BytesSent,
            s.XactTimeUs, s.QueryTimeUs, s.WaitTimeUs, s.ClientParseCount, s.ServerParseCount, s.BindCount);

    private static long[] Values(PoolStatsSnapshot s) =>
    [
        s.ServerAssignmentCount, s.XactCount, s.QueryCount, s.BytesReceived, s.BytesSent,
        s.XactTimeUs, s.QueryTimeUs, s.WaitTimeUs, s.ClientParseCount, s.ServerParseCount, s.BindCount,
    ];

    /// <summary>Per-database sums (every database SHOW DATABASES lists, the console's included) and their averages.</summary>
    private static (List<string> Names, Dictionary<string, PoolStatsSnapshot> Totals, IReadOnlyDictionary<string, PoolStatsSnapshot> Averages) Collect(AdminContext ctx)
    {
        var names = ShowPools.DatabaseNames(ctx);
        var totals = new Dictionary<string, PoolStatsSnapshot>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            totals[name] = default;
        }
        var all = default(PoolStatsSnapshot);
        foreach (var pool in ctx.Pooler.Pools.All)
        {
            var snapshot = pool.Stats.Snapshot();
            totals[pool.Key.Database] = totals.GetValueOrDefault(pool.Key.Database) + snapshot;
            all += snapshot;
        }
        var console = ctx.State.ConsoleStats.Snapshot();
        totals[ShowPools.AdminDatabase] = totals.GetValueOrDefault(ShowPools.AdminDatabase) + console;
        all += console;
        totals[TotalKey] = all;
        var averages = ctx.State.Sampler.Update(ctx.Pooler.Time, ctx.Config.StatsPeriod, totals);
        return (names, totals, averages);
    }
}
