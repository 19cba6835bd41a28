namespace Sluice.Config;

/// <summary>
/// Every [pgbouncer] key with PgBouncer 1.25's defaults (plus 1.26's pool_idle_timeout and
/// login_notify_message, and Sluice's stats_listen_*), in byte-wise alphabetical order because that
/// is the order SHOW CONFIG prints. Windows-only service_name is left out, as on PgBouncer's Unix builds.
/// </summary>
public static class SettingsTable
{
    private const bool R = true;
    private const bool NoReload = false;

    private static readonly string[] PoolModes = ["session", "transaction", "statement"];
    private static readonly string[] AuthTypes = ["trust", "any", "plain", "md5", "scram-sha-256", "cert", "hba", "pam", "ldap"];
    private static readonly string[] TlsModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

    /// <summary>The default for auth_query since PgBouncer 1.24.1 (honours rolvaliduntil and rolcanlogin).</summary>
    public const string DefaultAuthQuery =
        "SELECT rolname, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END FROM pg_authid WHERE rolname=$1 AND rolcanlogin";

    public static IReadOnlyList<SettingDefinition> All { get; } =
    [
        new("admin_users", SettingType.List, "", R),
        new("application_name_add_host", SettingType.Bool, "0", R),
        new("auth_dbname", SettingType.String, null, R),
        new("auth_file", SettingType.String, null, R),
        new("auth_hba_file", SettingType.String, "", R),
        new("auth_ident_file", SettingType.String, null, R),
        new("auth_ldap_options", SettingType.String, null, R),
        new("auth_query", SettingType.String, DefaultAuthQuery, R),
        new("auth_type", SettingType.Enum, "md5", R) { AllowedValues = AuthTypes },
        new("auth_user", SettingType.String, null, R),
        new("autodb_idle_timeout", SettingType.Time, "3600", R),
        new("cancel_wait_timeout", SettingType.Time, "10", R),
        new("client_idle_timeout", SettingType.Time, "0", R),
        new("client_login_timeout", SettingType.Time, "60", R),
        new("client_tls13_ciphers", SettingType.String, null, R),
        new("client_tls_ca_file", SettingType.String, "", R),
        new("client_tls_cert_file", SettingType.String, "", R),
        new("client_tls_ciphers", SettingType.String, "default", R),
        new("client_tls_dheparams", SettingType.String, "auto", R),
        new("client_tls_ecdhcurve", SettingType.String, "auto", R),
        new("client_tls_key_file", SettingType.String, "", R),
        new("client_tls_protocols", SettingType.String, "secure", R),
        new("client_tls_sslmode", SettingType.Enum, "disable", R) { AllowedValues = TlsModes },
        new("conffile", SettingType.String, null, R),
        new("default_pool_size", SettingType.Int, "20", R),
        new("disable_pqexec", SettingType.Bool, "0", NoReload),
        new("dns_max_ttl", SettingType.Time, "15", R),
        new("dns_nxdomain_ttl", SettingType.Time, "15", R),
        new("dns_zone_check_period", SettingType.Time, "0", R),
        new("idle_transaction_timeout", SettingType.Time, "0", R),
        new("ignore_startup_parameters", SettingType.List, "", R),
        new("job_name", SettingType.String, "pgbouncer", NoReload),
        new("listen_addr", SettingType.List, "", NoReload),
        new("listen_backlog", SettingType.Int, "128", NoReload),
        new("listen_port", SettingType.Int, "6432", NoReload),
        new("log_connections", SettingType.Bool, "1", R),
        new("log_disconnections", SettingType.Bool, "1", R),
        new("log_format", SettingType.Enum, "text", R) { AllowedValues = ["text", "json"] },
        new("log_pooler_errors", SettingType.Bool, "1", R),
        new("log_stats", SettingType.Bool, "1", R),
        new("logfile", SettingType.String, "", R),
        new("login_notify_message", SettingType.String, "", R),
        new("max_client_conn", SettingType.Int, "100", R),
        new("max_db_client_connections", SettingType.Int, "0", R),
        new("max_db_connections", SettingType.Int, "0", R),
        new("max_packet_size", SettingType.Int, "2147483647", R),
        new("max_prepared_statements", SettingType.Int, "200", R),
        new("max_user_client_connections", SettingType.Int, "0", R),
        new("max_user_connections", SettingType.Int, "0", R),
        new("min_pool_size", SettingType.Int, "0", R),
        new("peer_id", SettingType.Int, "0", R),
        new("pidfile", SettingType.String, "", NoReload),
        new("pin_session_state", SettingType.Bool, "1", R),
        new("pkt_buf", SettingType.Int, "4096", NoReload),
        new("pool_idle_timeout", SettingType.Time, "0", R),
        new("pool_mode", SettingType.Enum, "session", R) { AllowedValues = PoolModes },
        new("query_timeout", SettingType.Time, "0", R),
        new("query_wait_notify", SettingType.Int, "5", R),
        new("query_wait_timeout", SettingType.Time, "120", R),
        new("reserve_pool_size", SettingType.Int, "0", R),
        new("reserve_pool_timeout", SettingType.Time, "5", R),
        new("resolv_conf", SettingType.String, "", NoReload),
        new("sbuf_loopcnt", SettingType.Int, "5", R),
        new("scram_iterations", SettingType.Int, "4096", R),
        new("server_check_delay", SettingType.Time, "30", R),
        new("server_check_query", SettingType.String, "<empty>", R),
        new("server_connect_timeout", SettingType.Time, "15", R),
        new("server_fast_close", SettingType.Bool, "0", R),
        new("server_idle_timeout", SettingType.Time, "600", R),
        new("server_lifetime", SettingType.Time, "3600", R),
        new("server_login_retry", SettingType.Time, "15", R),
        new("server_reset_query", SettingType.String, "DISCARD ALL", R),
        new("server_reset_query_always", SettingType.Bool, "0", R),
        new("server_round_robin", SettingType.Bool, "0", R),
        new("server_tls13_ciphers", SettingType.String, null, R),
        new("server_tls_ca_file", SettingType.String, "", R),
        new("server_tls_cert_file", SettingType.String, "", R),
        new("server_tls_ciphers", SettingType.String, "default", R),
        new("server_tls_key_file", SettingType.String, "", R),
        new("server_tls_protocols", SettingType.String, "secure", R),
        new("server_tls_sslmode", SettingType.Enum, "prefer", R) { AllowedValues = TlsModes },
        new("so_reuseport", SettingType.Bool, "0", NoReload),
        new("stats_listen_addr", SettingType.String, "", NoReload),
        new("stats_listen_port", SettingType.Int, "0", NoReload),
        new("stats_period", SettingType.Int, "60", R),
        new("stats_users", SettingType.List, "", R),
        new("suspend_timeout", SettingType.Time, "10", R),
        new("syslog", SettingType.Bool, "0", R),
        new("syslog_facility", SettingType.String, "daemon", R),
        new("syslog_ident", SettingType.String, "pgbouncer", R),
        // PgBouncer only enables TCP_DEFER_ACCEPT by default where the option exists.
        new("tcp_defer_accept", SettingType.Bool, OperatingSystem.IsLinux() ? "1" : "0", R),
        new("tcp_keepalive", SettingType.Bool, "1", R),
        new("tcp_keepcnt", SettingType.Int, "0", R),
        new("tcp_keepidle", SettingType.Int, "0", R),
        new("tcp_keepintvl", SettingType.Int, "0", R),
        new("tcp_socket_buffer", SettingType.Int, "0", R),
        new("tcp_user_timeout", SettingType.Int, "0", R),
        new("track_extra_parameters", SettingType.List, "IntervalStyle", NoReload),
        new("transaction_timeout", SettingType.Time, "0", R),
        new("unix_socket_dir", SettingType.String, "/tmp", NoReload),
        new("unix_socket_group", SettingType.String, "", NoReload),
        new("unix_socket_mode", SettingType.Int, "0777", NoReload),
        new("user", SettingType.String, null, NoReload),
        new("verbose", SettingType.Int, null, R),
    ];

    private static readonly Dictionary<string, SettingDefinition> ByName = BuildIndex();

    /// <summary>Case-sensitive lookup, as PgBouncer's keys are.</summary>
    public static SettingDefinition? Find(string name) => ByName.GetValueOrDefault(name);

    private static Dictionary<string, SettingDefinition> BuildIndex()
    {
        var index = new Dictionary<string, SettingDefinition>(StringComparer.Ordinal);
        foreach (var setting in All)
        {
            index.Add(setting.Name, setting);
        }

        return index;
    }
}
