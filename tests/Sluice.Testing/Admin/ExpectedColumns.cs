namespace Sluice.Testing.Admin;

/// <summary>
/// PgBouncer 1.25's SHOW columns, copied by hand from pgbouncer.md §3.3 (name and type letter:
/// s = text, i = int4, q = int8, N = numeric, b = bytea). 1.25 lacks 1.26's *_client_login_count.
/// </summary>
public static class ExpectedColumns
{
    private const string ConnectionColumns =
        "type s, user s, database s, replication s, state s, addr s, port i, local_addr s, local_port i, connect_time s, " +
        "request_time s, wait i, wait_us i, close_needed i, ptr s, link s, remote_pid i, tls s, application_name s, " +
        "prepared_statements i, id i";

    public static readonly IReadOnlyDictionary<string, string> ByCommand = new Dictionary<string, string>
    {
        ["STATS"] =
            "database s, total_server_assignment_count N, total_xact_count N, total_query_count N, total_received N, " +
            "total_sent N, total_xact_time N, total_query_time N, total_wait_time N, total_client_parse_count N, " +
            "total_server_parse_count N, total_bind_count N, avg_server_assignment_count N, avg_xact_count N, " +
            "avg_query_count N, avg_recv N, avg_sent N, avg_xact_time N, avg_query_time N, avg_wait_time N, " +
            "avg_client_parse_count N, avg_server_parse_count N, avg_bind_count N",
        ["STATS_TOTALS"] =
            "database s, server_assignment_count N, xact_count N, query_count N, bytes_received N, bytes_sent N, " +
            "xact_time N, query_time N, wait_time N, client_parse_count N, server_parse_count N, bind_count N",
        ["STATS_AVERAGES"] =
            "database s, server_assignment_count N, xact_count N, query_count N, bytes_received N, bytes_sent N, " +
            "xact_time N, query_time N, wait_time N, avg_client_parse_count N, avg_server_parse_count N, avg_bind_count N",
        ["TOTALS"] = "name s, value N",
        ["SERVERS"] = ConnectionColumns,
        ["CLIENTS"] = ConnectionColumns,
        ["SOCKETS"] = ConnectionColumns +
            ", recv_pos i, pkt_pos i, pkt_remain i, send_pos i, send_remain i, pkt_avail i, send_avail i",
        ["ACTIVE_SOCKETS"] = ConnectionColumns +
            ", recv_pos i, pkt_pos i, pkt_remain i, send_pos i, send_remain i, pkt_avail i, send_avail i",
        ["POOLS"] =
            "database s, user s, cl_active i, cl_waiting i, cl_active_cancel_req i, cl_waiting_cancel_req i, " +
            "sv_active i, sv_active_cancel i, sv_being_canceled i, sv_idle i, sv_used i, sv_tested i, sv_login i, " +
            "maxwait i, maxwait_us i, pool_mode s, load_balance_hosts s",
        ["PEER_POOLS"] = "peer_id i, cl_active_cancel_req i, cl_waiting_cancel_req i, sv_active_cancel i, sv_login i",
        ["DATABASES"] =
            "name s, host s, port i, database s, force_user s, pool_size i, min_pool_size i, reserve_pool_size i, " +
            "server_lifetime i, pool_mode s, load_balance_hosts s, max_connections i, current_connections i, " +
            "max_client_connections i, current_client_connections i, paused i, disabled i",
        ["USERS"] =
            "name s, pool_size s, reserve_pool_size s, pool_mode s, max_user_connections i, current_connections i, " +
            "max_user_client_connections i, current_client_connections i",
        ["LISTS"] = "list s, items i",
        ["CONFIG"] = "key s, value s, default s, changeable s",
        ["MEM"] = "name s, size i, used i, free i, memtotal i",
        ["DNS_HOSTS"] = "hostname s, ttl q, addrs s",
        ["DNS_ZONES"] = "zonename s, serial q, count i",
        ["STATE"] = "key s, value s",
        ["VERSION"] = "version s",
        ["PEERS"] = "peer_id i, host s, port i, pool_size i",
        // Sluice only: pinned clients (session state in transaction pooling).
        ["PINNED"] = "type s, user s, database s, ptr s, link s, reason s, pins q, pinned_seconds N",
        ["FDS"] =
            "fd i, task s, user s, database s, addr s, port i, cancel q, link i, client_encoding s, std_strings s, " +
            "datestyle s, timezone s, password s, scram_client_key b, scram_server_key b",
    };

    /// <summary>Column names and type OIDs of one command.</summary>
    public static (string Name, int TypeOid)[] Of(string command) =>
        [.. ByCommand[command].Split(", ").Select(c => c.Split(' ')).Select(p => (p[0], TypeOid(p[1])))];

    public static string[] NamesOf(string command) => [.. Of(command).Select(c => c.Name)];

    private static int TypeOid(string letter) => letter switch
    {
        "s" => 25,
        "i" => 23,
        "q" => 20,
        "N" => 1700,
        "b" => 17,
        _ => throw new ArgumentException(letter),
    };
}
