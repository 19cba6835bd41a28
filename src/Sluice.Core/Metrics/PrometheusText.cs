using System.Globalization;
using System.Text;
using Sluice.Hosting;
using Sluice.Pooling;
using Sluice.Stats;

namespace Sluice.Metrics;

/// <summary>
/// The Prometheus text exposition of the same figures SHOW STATS / POOLS / DATABASES / CONFIG give, under
/// prometheus-community/pgbouncer_exporter's metric names so existing dashboards keep working, plus the
/// wait-time and query-time histograms (sluice_*) that PgBouncer cannot give.
/// </summary>
internal static class PrometheusText
{
    public static string Render(Pooler pooler)
    {
        var sb = new StringBuilder(4096);
        var config = pooler.Config;
        Gauge(sb, "pgbouncer_up", "The pooler is up and answering.", 1);
        Header(sb, "pgbouncer_version_info", "The pooler's version.", "gauge");
        sb.Append("pgbouncer_version_info{version=\"").Append(Escape(Hosting.Version.Text)).Append("\"} 1\n");
        Gauge(sb, "pgbouncer_config_max_client_connections", "max_client_conn.", config.MaxClientConn);
        Gauge(sb, "pgbouncer_config_max_user_connections", "max_user_connections.", config.MaxUserConnections);
        Gauge(sb, "sluice_clients", "Clients counted against max_client_conn.", pooler.ClientCount);

        var pools = pooler.Pools.All.OrderBy(p => p.Key.Database, StringComparer.Ordinal).ThenBy(p => p.Key.User, StringComparer.Ordinal).ToArray();
        var byDatabase = new SortedDictionary<string, PoolStatsSnapshot>(StringComparer.Ordinal);
        foreach (var pool in pools)
        {
            var snapshot = pool.Stats.Snapshot();
            byDatabase[pool.Key.Database] = byDatabase.TryGetValue(pool.Key.Database, out var sum) ? sum + snapshot : snapshot;
        }

        Counter(sb, "pgbouncer_stats_sql_transactions_pooled_total", "Total number of SQL transactions pooled (SHOW STATS total_xact_count).", byDatabase, s => s.XactCount);
        Counter(sb, "pgbouncer_stats_queries_pooled_total", "Total number of SQL queries pooled (total_query_count).", byDatabase, s => s.QueryCount);
        Counter(sb, "pgbouncer_stats_received_bytes_total", "Total volume in bytes of network traffic received from clients (total_received).", byDatabase, s => s.BytesReceived);
        Counter(sb, "pgbouncer_stats_sent_bytes_total", "Total volume in bytes of network traffic sent to clients (total_sent).", byDatabase, s => s.BytesSent);
        Counter(sb, "pgbouncer_stats_server_in_transaction_seconds_total", "Total seconds spent in transactions (total_xact_time).", byDatabase, s => s.XactTimeUs / 1e6);
        Counter(sb, "pgbouncer_stats_queries_duration_seconds_total", "Total seconds spent running queries (total_query_time).", byDatabase, s => s.QueryTimeUs / 1e6);
        Counter(sb, "pgbouncer_stats_client_wait_seconds_total", "Total seconds clients waited for a server (total_wait_time).", byDatabase, s => s.WaitTimeUs / 1e6);
        Counter(sb, "pgbouncer_stats_server_assignments_total", "Total times a server was assigned to a client (total_server_assignment_count).", byDatabase, s => s.ServerAssignmentCount);
        Counter(sb, "pgbouncer_stats_client_logins_total", "Total client logins.", byDatabase, s => s.ClientLoginCount);

        PoolGauge(sb, pools, "pgbouncer_pools_client_active_connections", "Client connections linked to a server or idle (cl_active).", p => p.ClientCount - p.WaitingCount);
        PoolGauge(sb, pools, "pgbouncer_pools_client_waiting_connections", "Client connections waiting for a server (cl_waiting).", p => p.WaitingCount);
        PoolGauge(sb, pools, "pgbouncer_pools_server_active_connections", "Server connections linked to a client (sv_active).", p => p.BusyServerCount - p.ConnectingCount);
        PoolGauge(sb, pools, "pgbouncer_pools_server_idle_connections", "Server connections idle and ready (sv_idle).", p => p.IdleCount);
        PoolGauge(sb, pools, "pgbouncer_pools_server_used_connections", "Server connections idle past server_check_delay (sv_used).", _ => 0);
        PoolGauge(sb, pools, "pgbouncer_pools_server_testing_connections", "Server connections running the reset or check query (sv_tested).", _ => 0);
        PoolGauge(sb, pools, "pgbouncer_pools_server_login_connections", "Server connections logging in (sv_login).", p => p.ConnectingCount);
        PoolGauge(sb, pools, "pgbouncer_pools_client_maxwait_seconds", "Age of the oldest waiting client (maxwait).", p => MaxWaitSeconds(pooler, p));
        PoolGauge(sb, pools, "sluice_pools_pinned_total", "Times a client was pinned to its server by session state.", p => p.Stats.PinCount, type: "counter");
        PoolGauge(sb, pools, "sluice_pools_pinned_seconds_total", "Seconds clients spent pinned to a server.", p => p.Stats.PinnedTimeUs / 1e6, type: "counter");

        Header(sb, "pgbouncer_databases_pool_size", "Pool size of the database (pool_size).", "gauge");
        foreach (var pool in pools.DistinctBy(p => p.Key.Database))
        {
            sb.Append("pgbouncer_databases_pool_size{name=\"").Append(Escape(pool.Key.Database)).Append("\"} ").Append(pool.Settings.PoolSize).Append('\n');
        }
        Header(sb, "pgbouncer_databases_current_connections", "Server connections of the database (current_connections).", "gauge");
        foreach (var group in pools.GroupBy(p => p.Key.Database))
        {
            sb.Append("pgbouncer_databases_current_connections{name=\"").Append(Escape(group.Key)).Append("\"} ").Append(group.Sum(p => p.ServerCount)).Append('\n');
        }

        Histogram(sb, pools, "sluice_client_wait_seconds", "Time clients waited for a server, per assignment.", p => p.Stats.WaitTimes);
        Histogram(sb, pools, "sluice_query_duration_seconds", "Query time from the first byte sent to the server to its ReadyForQuery.", p => p.Stats.QueryTimes);
        return sb.ToString();
    }

    private static double MaxWaitSeconds(Pooler pooler, Pool pool)
    {
        var waiters = pool.SnapshotWaiters();
        return waiters.Length == 0 ? 0 : pooler.Time.GetElapsedTime(waiters[0].WaitStartTimestamp).TotalSeconds;
    }

    private static void Header(StringBuilder sb, string name, string help, string type) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Gauge(StringBuilder sb, string name, string help, double value)
    {
        Header(sb, name, help, "gauge");
        sb.Append(name).Append(' ').Append(Format(value)).Append('\n');
    }

    private static void Counter(StringBuilder sb, string name, string help, SortedDictionary<string, PoolStatsSnapshot> byDatabase, Func<PoolStatsSnapshot, double> value)
    {
        Header(sb, name, help, "counter");
        foreach (var (database, snapshot) in byDatabase)
        {
            sb.Append(name).Append("{database=\"").Append(Escape(database)).Append("\"} ").Append(Format(value(snapshot))).Append('\n');
        }
    }

    private static void PoolGauge(StringBuilder sb, Pool[] pools, string name, string help, Func<Pool, double> value, string type = "gauge")
    {
        Header(sb, name, help, type);
        foreach (var pool in pools)
        {
            sb.Append(name).Append("{database=\"").Append(Escape(pool.Key.Database)).Append("\",user=\"").Append(Escape(pool.Key.User)).Append("\"} ")
              .Append(Format(value(pool))).Append('\n');
        }
    }

    private static void Histogram(StringBuilder sb, Pool[] pools, string name, string help, Func<Pool, LatencyHistogram> select)
    {
        Header(sb, name, help, "histogram");
        foreach (var pool in pools)
        {
            var (cumulative, sumUs) = select(pool).Snapshot();
            var labels = $"database=\"{Escape(pool.Key.Database)}\",user=\"{Escape(pool.Key.User)}\"";
            for (var i = 0; i < LatencyHistogram.BoundsUs.Length; i++)
            {
                sb.Append(name).Append("_bucket{").Append(labels).Append(",le=\"").Append(Format(LatencyHistogram.BoundsUs[i] / 1e6)).Append("\"} ").Append(cumulative[i]).Append('\n');
            }
            sb.Append(name).Append("_bucket{").Append(labels).Append(",le=\"+Inf\"} ").Append(cumulative[^1]).Append('\n');
            sb.Append(name).Append("_sum{").Append(labels).Append("} ").Append(Format(sumUs / 1e6)).Append('\n');
            sb.Append(name).Append("_count{").Append(labels).Append("} ").Append(cumulative[^1]).Append('\n');
        }
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
