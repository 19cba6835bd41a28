namespace Sluice.Config;

/// <summary>
/// The support status of every [pgbouncer] setting. docs/compatibility.md is checked against this table by a
/// unit test, and settings that are set but not acted on are logged once at start, so none is ignored silently.
/// </summary>
public static class SettingSupport
{
    private const SupportLevel I = SupportLevel.Implemented;
    private const SupportLevel A = SupportLevel.AcceptedOnly;
    private const SupportLevel N = SupportLevel.NotPlanned;

    public static IReadOnlyDictionary<string, (SupportLevel Level, string Note)> All { get; } = new Dictionary<string, (SupportLevel, string)>(StringComparer.Ordinal)
    {
        ["admin_users"] = (I, "console access"),
        ["application_name_add_host"] = (I, "appends \" - host:port\" to the client's application_name"),
        ["auth_dbname"] = (I, "database whose pool runs auth_query"),
        ["auth_file"] = (I, "plain, md5 and SCRAM secrets; re-read on reload"),
        ["auth_hba_file"] = (I, "pg_hba subset of PgBouncer: local/host/hostssl/hostnossl, trust/reject/md5/password/scram-sha-256/cert/peer"),
        ["auth_ident_file"] = (I, "map= for peer rules in auth_hba_file (cert rules use the CN as it is)"),
        ["auth_ldap_options"] = (N, "LDAP is a PgBouncer build option; Sluice has no LDAP client"),
        ["auth_query"] = (I, "run with $1 = user over the extended protocol; the secret (pg_authid SCRAM too) logs the pool in, with SCRAM pass-through"),
        ["auth_type"] = (I, "trust, any, plain, md5, scram-sha-256, cert (the client certificate's CN is the user), hba (auth_hba_file); pam and ldap are refused at login"),
        ["auth_user"] = (I, "user that runs auth_query for users missing from auth_file"),
        ["autodb_idle_timeout"] = (I, "an auto-database with no client and no server for this long is dropped with its pools"),
        ["cancel_wait_timeout"] = (I, "bounds the forwarded cancel request"),
        ["client_idle_timeout"] = (I, "janitor closes idle clients"),
        ["client_login_timeout"] = (I, "login must finish in time"),
        ["client_tls13_ciphers"] = (I, "TLS 1.3 suites applied on Linux as a CipherSuitesPolicy (TLS 1.2 then gets the ECDHE AEAD suites)"),
        ["client_tls_ca_file"] = (I, "a client certificate must chain to it (the system roots when unset); re-read on reload"),
        ["client_tls_cert_file"] = (I, "PEM, intermediates may follow the leaf; re-read on reload"),
        ["client_tls_ciphers"] = (A, "OpenSSL cipher strings are not applied: TLS 1.2 uses the system's default suites"),
        ["client_tls_dheparams"] = (A, "not applied: .NET has no DH parameter setting (ECDHE is used)"),
        ["client_tls_ecdhcurve"] = (A, "not applied: OpenSSL's default groups are used"),
        ["client_tls_key_file"] = (I, "PEM, unencrypted; re-read on reload"),
        ["client_tls_protocols"] = (I, "tlsv1.0 to tlsv1.3, all, secure; '!' or '-' removes one"),
        ["client_tls_sslmode"] = (I, "disable, allow, prefer, require, verify-ca, verify-full (no host name check on client certificates, as PgBouncer); direct TLS (ALPN postgresql); Unix sockets always plain"),
        ["conffile"] = (I, "the file RELOAD reads"),
        ["default_pool_size"] = (I, "0 = unlimited"),
        ["disable_pqexec"] = (I, "a simple Query disconnects the client with \"PQexec disallowed\""),
        ["dns_max_ttl"] = (N, "host names are resolved on every connect by the OS resolver"),
        ["dns_nxdomain_ttl"] = (N, "host names are resolved on every connect by the OS resolver"),
        ["dns_zone_check_period"] = (N, "c-ares only in PgBouncer"),
        ["idle_transaction_timeout"] = (I, "janitor closes the server and the client"),
        ["ignore_startup_parameters"] = (I, "listed startup parameters are dropped"),
        ["job_name"] = (N, "Windows service name"),
        ["listen_addr"] = (I, "list, '*' = all IPv4 and IPv6"),
        ["listen_backlog"] = (I, "listen(2) backlog"),
        ["listen_port"] = (I, "TCP port and Unix socket suffix"),
        ["log_connections"] = (I, "login lines"),
        ["log_disconnections"] = (I, "closing lines with the reason"),
        ["log_format"] = (I, "Sluice only: text (PgBouncer's line format) or json (one object per line: time, pid, level, event, message)"),
        ["log_pooler_errors"] = (I, "errors sent to clients are logged"),
        ["log_stats"] = (I, "one stats line per stats_period"),
        ["logfile"] = (I, "reopened on SIGHUP/RELOAD"),
        ["login_notify_message"] = (I, "NOTICE after login (PgBouncer 1.26)"),
        ["max_client_conn"] = (I, "53300 past the limit"),
        ["max_db_client_connections"] = (I, "per database, console included; 08P01 past the limit as in PgBouncer"),
        ["max_db_connections"] = (I, "servers per database across users"),
        ["max_packet_size"] = (I, "larger packets end the connection"),
        ["max_prepared_statements"] = (I, "named protocol-level statements are renamed, prepared again on servers that lack them, LRU per server"),
        ["max_user_client_connections"] = (I, "per login user, console included; 08P01 past the limit as in PgBouncer"),
        ["max_user_connections"] = (I, "servers per user across databases"),
        ["min_pool_size"] = (I, "janitor keeps pools with clients (or a forced user) at the minimum"),
        ["peer_id"] = (I, "cancel keys carry the peer id; a cancel for another peer's key is passed to its [peers] entry"),
        ["pidfile"] = (I, "written at start, removed at exit"),
        ["pin_session_state"] = (I, "Sluice only: transaction pooling keeps a client on its server while it holds session state (SET, LISTEN, advisory locks, temp tables, WITH HOLD cursors, PREPARE, LOAD); 0 = PgBouncer's behaviour"),
        ["pkt_buf"] = (N, "Sluice sizes its pooled buffers itself (16 KiB, returned when idle)"),
        ["pool_idle_timeout"] = (A, "empty pools are kept"),
        ["pool_mode"] = (I, "session, transaction, statement; per database and per user too"),
        ["query_timeout"] = (I, "janitor closes the server, client gets \"query timeout\""),
        ["query_wait_notify"] = (I, "NOTICE to a client queued longer than this, once per wait"),
        ["query_wait_timeout"] = (I, "queued clients are disconnected with \"query_wait_timeout\""),
        ["reserve_pool_size"] = (I, "extra servers after reserve_pool_timeout"),
        ["reserve_pool_timeout"] = (I, "see reserve_pool_size"),
        ["resolv_conf"] = (N, "the OS resolver is used"),
        ["sbuf_loopcnt"] = (I, "reads in a row that found data waiting, before the connection yields its epoll thread once (0 = no limit); a read is up to one pooled buffer, not pkt_buf"),
        ["scram_iterations"] = (I, "iterations for SCRAM secrets derived from plain passwords"),
        ["server_check_delay"] = (I, "see server_check_query"),
        ["server_check_query"] = (I, "run before reusing a server idle longer than server_check_delay; <empty> = empty query"),
        ["server_connect_timeout"] = (I, "connect and login"),
        ["server_fast_close"] = (I, "a session's server marked close_needed is closed between transactions, with its client"),
        ["server_idle_timeout"] = (I, "janitor closes idle servers above min_pool_size"),
        ["server_lifetime"] = (I, "servers are closed when released or idle past their lifetime"),
        ["server_login_retry"] = (I, "new clients fail fast with the cached error while a login keeps failing; queued clients wait for the retry"),
        ["server_reset_query"] = (I, "session mode, on release"),
        ["server_reset_query_always"] = (I, "all modes"),
        ["server_round_robin"] = (I, "FIFO reuse of idle servers instead of LIFO"),
        ["server_tls13_ciphers"] = (I, "as client_tls13_ciphers"),
        ["server_tls_ca_file"] = (I, "verify-ca and verify-full check the chain against it (the system roots when unset)"),
        ["server_tls_cert_file"] = (I, "client certificate shown to PostgreSQL, with server_tls_key_file"),
        ["server_tls_ciphers"] = (A, "OpenSSL cipher strings are not applied: TLS 1.2 uses the system's default suites"),
        ["server_tls_key_file"] = (I, "PEM, unencrypted"),
        ["server_tls_protocols"] = (I, "as client_tls_protocols"),
        ["server_tls_sslmode"] = (I, "disable; allow and prefer send SSLRequest and stay plain on 'N'; require; verify-ca; verify-full checks the host name; a failed handshake is not retried in plain text; Unix sockets always plain"),
        ["so_reuseport"] = (I, "SO_REUSEPORT on TCP listeners"),
        ["stats_listen_addr"] = (I, "Sluice only: address of the HTTP side port (/metrics, /healthz, /readyz); off unless stats_listen_port is set"),
        ["stats_listen_port"] = (I, "Sluice only: port of the HTTP side port; 0 = off"),
        ["stats_period"] = (I, "period of the log_stats line and of SHOW STATS averages"),
        ["stats_users"] = (I, "console SHOW access"),
        ["suspend_timeout"] = (N, "SUSPEND returns at once (Sluice holds no buffers between messages); online restart is not supported"),
        ["syslog"] = (I, "RFC 3164 datagrams to /dev/log"),
        ["syslog_facility"] = (I, "auth, authpriv, daemon, user, local0-7"),
        ["syslog_ident"] = (I, "the tag of each syslog line"),
        ["tcp_defer_accept"] = (N, ".NET does not expose TCP_DEFER_ACCEPT on listeners; no effect on behaviour"),
        ["tcp_keepalive"] = (I, "SO_KEEPALIVE"),
        ["tcp_keepcnt"] = (I, "TCP_KEEPCNT"),
        ["tcp_keepidle"] = (I, "TCP_KEEPIDLE"),
        ["tcp_keepintvl"] = (I, "TCP_KEEPINTVL"),
        ["tcp_socket_buffer"] = (I, "SO_SNDBUF and SO_RCVBUF"),
        ["tcp_user_timeout"] = (I, "TCP_USER_TIMEOUT"),
        ["track_extra_parameters"] = (I, "tracked and re-applied with SET like the built-in five"),
        ["transaction_timeout"] = (I, "janitor closes the server and the client"),
        ["unix_socket_dir"] = (I, "listening socket .s.PGSQL.<port>; '' disables"),
        ["unix_socket_group"] = (A, "the socket keeps the process's group"),
        ["unix_socket_mode"] = (I, "socket file mode"),
        ["user"] = (I, "setuid at start when run as root"),
        ["verbose"] = (I, "also -v"),
    };

    /// <summary>Settings given a non-default value that Sluice does not act on: each deserves a warning at start.</summary>
    public static IEnumerable<string> UnsupportedButSet(PoolerConfig config)
    {
        foreach (var setting in SettingsTable.All)
        {
            if (All.TryGetValue(setting.Name, out var support) && support.Level != SupportLevel.Implemented
                && config.IsExplicitlySet(setting.Name) && config.GetRaw(setting.Name) != (setting.Default ?? ""))
            {
                yield return $"setting {setting.Name} = {config.GetRaw(setting.Name)} is accepted but not acted on: {support.Note}";
            }
        }
    }
}
