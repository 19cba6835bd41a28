namespace Sluice.Config;

/// <summary>Typed views of the [pgbouncer] settings. Times of zero mean "off" unless the setting says otherwise.</summary>
public sealed partial class PoolerConfig
{
    /// <param name="explicitValues">Canonical text of the keys the file set (already validated).</param>
    internal PoolerConfig(
        string? configFile,
        IReadOnlyDictionary<string, string> explicitValues,
        IReadOnlyDictionary<string, DatabaseEntry> databases,
        DatabaseEntry? fallbackDatabase,
        IReadOnlyDictionary<string, UserEntry> users,
        IReadOnlyDictionary<int, PeerEntry> peers)
    {
        ConfigFile = configFile;
        Databases = databases;
        FallbackDatabase = fallbackDatabase;
        Users = users;
        Peers = peers;
        StoreValues(explicitValues);

        ListenAddr = List("listen_addr");
        ListenPort = Int("listen_port");
        UnixSocketDir = Str("unix_socket_dir");
        UnixSocketMode = Int("unix_socket_mode");
        UnixSocketGroup = OptionalStr("unix_socket_group");
        EnumNames.TryParsePoolMode(Str("pool_mode"), out var poolMode);
        PoolMode = poolMode;
        MaxClientConn = Int("max_client_conn");
        DefaultPoolSize = Int("default_pool_size");
        MinPoolSize = Int("min_pool_size");
        ReservePoolSize = Int("reserve_pool_size");
        ReservePoolTimeout = Time("reserve_pool_timeout");
        MaxDbConnections = Int("max_db_connections");
        MaxDbClientConnections = Int("max_db_client_connections");
        MaxUserConnections = Int("max_user_connections");
        MaxUserClientConnections = Int("max_user_client_connections");
        ServerRoundRobin = Bool("server_round_robin");

        EnumNames.TryParseAuthType(Str("auth_type"), out var authType);
        AuthType = authType;
        AuthFile = OptionalStr("auth_file");
        AuthHbaFile = OptionalStr("auth_hba_file");
        AuthIdentFile = OptionalStr("auth_ident_file");
        AuthUser = OptionalStr("auth_user");
        AuthQuery = Str("auth_query");
        AuthDbName = OptionalStr("auth_dbname");
        AuthLdapOptions = OptionalStr("auth_ldap_options");
        AdminUsers = List("admin_users");
        StatsUsers = List("stats_users");
        IgnoreStartupParameters = List("ignore_startup_parameters");
        TrackExtraParameters = List("track_extra_parameters");

        ServerResetQuery = Str("server_reset_query");
        ServerResetQueryAlways = Bool("server_reset_query_always");
        ServerCheckQuery = Str("server_check_query");
        ServerCheckDelay = Time("server_check_delay");
        ServerLifetime = Time("server_lifetime");
        ServerIdleTimeout = Time("server_idle_timeout");
        ServerConnectTimeout = Time("server_connect_timeout");
        ServerLoginRetry = Time("server_login_retry");
        ServerFastClose = Bool("server_fast_close");
        ClientLoginTimeout = Time("client_login_timeout");
        ClientIdleTimeout = Time("client_idle_timeout");
        QueryTimeout = Time("query_timeout");
        QueryWaitTimeout = Time("query_wait_timeout");
        CancelWaitTimeout = Time("cancel_wait_timeout");
        IdleTransactionTimeout = Time("idle_transaction_timeout");
        TransactionTimeout = Time("transaction_timeout");
        AutodbIdleTimeout = Time("autodb_idle_timeout");
        SuspendTimeout = Time("suspend_timeout");
        PoolIdleTimeout = Time("pool_idle_timeout");
        DnsMaxTtl = Time("dns_max_ttl");
        DnsNxdomainTtl = Time("dns_nxdomain_ttl");
        DnsZoneCheckPeriod = Time("dns_zone_check_period");
        ResolvConf = OptionalStr("resolv_conf");

        MaxPacketSize = Int("max_packet_size");
        PktBuf = Int("pkt_buf");
        SbufLoopcnt = Int("sbuf_loopcnt");
        ListenBacklog = Int("listen_backlog");
        SoReuseport = Bool("so_reuseport");
        TcpKeepalive = Bool("tcp_keepalive");
        TcpKeepcnt = Int("tcp_keepcnt");
        TcpKeepidle = Int("tcp_keepidle");
        TcpKeepintvl = Int("tcp_keepintvl");
        TcpUserTimeout = Int("tcp_user_timeout");
        TcpDeferAccept = Bool("tcp_defer_accept");
        TcpSocketBuffer = Int("tcp_socket_buffer");

        LogConnections = Bool("log_connections");
        LogDisconnections = Bool("log_disconnections");
        LogPoolerErrors = Bool("log_pooler_errors");
        LogStats = Bool("log_stats");
        StatsPeriod = TimeSpan.FromSeconds(Int("stats_period"));
        Verbose = Int("verbose");
        Logfile = OptionalStr("logfile");
        Pidfile = OptionalStr("pidfile");
        User = OptionalStr("user");
        Syslog = Bool("syslog");
        SyslogIdent = Str("syslog_ident");
        SyslogFacility = Str("syslog_facility");
        JobName = Str("job_name");

        DisablePqexec = Bool("disable_pqexec");
        ApplicationNameAddHost = Bool("application_name_add_host");
        MaxPreparedStatements = Int("max_prepared_statements");
        ScramIterations = Int("scram_iterations");
        QueryWaitNotify = TimeSpan.FromSeconds(Int("query_wait_notify"));
        LoginNotifyMessage = Str("login_notify_message");
        PeerId = Int("peer_id");
        PinSessionState = Bool("pin_session_state");
        LogFormat = Str("log_format");

        EnumNames.TryParseTlsMode(Str("client_tls_sslmode"), out var clientTls);
        ClientTlsSslMode = clientTls;
        ClientTlsKeyFile = Str("client_tls_key_file");
        ClientTlsCertFile = Str("client_tls_cert_file");
        ClientTlsCaFile = Str("client_tls_ca_file");
        ClientTlsProtocols = Str("client_tls_protocols");
        ClientTlsCiphers = Str("client_tls_ciphers");
        ClientTls13Ciphers = OptionalStr("client_tls13_ciphers");
        ClientTlsEcdhCurve = Str("client_tls_ecdhcurve");
        ClientTlsDheParams = Str("client_tls_dheparams");
        EnumNames.TryParseTlsMode(Str("server_tls_sslmode"), out var serverTls);
        ServerTlsSslMode = serverTls;
        ServerTlsKeyFile = Str("server_tls_key_file");
        ServerTlsCertFile = Str("server_tls_cert_file");
        ServerTlsCaFile = Str("server_tls_ca_file");
        ServerTlsProtocols = Str("server_tls_protocols");
        ServerTlsCiphers = Str("server_tls_ciphers");
        ServerTls13Ciphers = OptionalStr("server_tls13_ciphers");

        StatsListenAddr = Str("stats_listen_addr");
        StatsListenPort = Int("stats_listen_port");
    }

    /// <summary>TCP addresses to listen on ("*" = all); empty = Unix socket only.</summary>
    public IReadOnlyList<string> ListenAddr { get; }
    public int ListenPort { get; }

    /// <summary>"" disables the Unix socket listener.</summary>
    public string UnixSocketDir { get; }
    public int UnixSocketMode { get; }
    public string? UnixSocketGroup { get; }
    public PoolMode PoolMode { get; }
    public int MaxClientConn { get; }

    /// <summary>0 = unlimited (since PgBouncer 1.24).</summary>
    public int DefaultPoolSize { get; }
    public int MinPoolSize { get; }
    public int ReservePoolSize { get; }
    public TimeSpan ReservePoolTimeout { get; }
    public int MaxDbConnections { get; }
    public int MaxDbClientConnections { get; }
    public int MaxUserConnections { get; }
    public int MaxUserClientConnections { get; }
    public bool ServerRoundRobin { get; }

    public AuthType AuthType { get; }
    public string? AuthFile { get; }
    public string? AuthHbaFile { get; }
    public string? AuthIdentFile { get; }
    public string? AuthUser { get; }
    public string AuthQuery { get; }
    public string? AuthDbName { get; }
    public string? AuthLdapOptions { get; }
    public IReadOnlyList<string> AdminUsers { get; }
    public IReadOnlyList<string> StatsUsers { get; }
    public IReadOnlyList<string> IgnoreStartupParameters { get; }
    public IReadOnlyList<string> TrackExtraParameters { get; }

    public string ServerResetQuery { get; }
    public bool ServerResetQueryAlways { get; }

    /// <summary>"" disables the check; the literal <c>&lt;empty&gt;</c> means send an empty query.</summary>
    public string ServerCheckQuery { get; }
    public TimeSpan ServerCheckDelay { get; }

    /// <summary>Zero means a server is used once, not "never expire".</summary>
    public TimeSpan ServerLifetime { get; }
    public TimeSpan ServerIdleTimeout { get; }
    public TimeSpan ServerConnectTimeout { get; }
    public TimeSpan ServerLoginRetry { get; }
    public bool ServerFastClose { get; }
    public TimeSpan ClientLoginTimeout { get; }
    public TimeSpan ClientIdleTimeout { get; }
    public TimeSpan QueryTimeout { get; }
    public TimeSpan QueryWaitTimeout { get; }
    public TimeSpan CancelWaitTimeout { get; }
    public TimeSpan IdleTransactionTimeout { get; }
    public TimeSpan TransactionTimeout { get; }
    public TimeSpan AutodbIdleTimeout { get; }
    public TimeSpan SuspendTimeout { get; }
    public TimeSpan PoolIdleTimeout { get; }
    public TimeSpan DnsMaxTtl { get; }
    public TimeSpan DnsNxdomainTtl { get; }
    public TimeSpan DnsZoneCheckPeriod { get; }
    public string? ResolvConf { get; }

    public int MaxPacketSize { get; }
    public int PktBuf { get; }
    public int SbufLoopcnt { get; }
    public int ListenBacklog { get; }
    public bool SoReuseport { get; }
    public bool TcpKeepalive { get; }
    public int TcpKeepcnt { get; }
    public int TcpKeepidle { get; }
    public int TcpKeepintvl { get; }

    /// <summary>Milliseconds, as TCP_USER_TIMEOUT takes them.</summary>
    public int TcpUserTimeout { get; }
    public bool TcpDeferAccept { get; }
    public int TcpSocketBuffer { get; }

    public bool LogConnections { get; }
    public bool LogDisconnections { get; }
    public bool LogPoolerErrors { get; }
    public bool LogStats { get; }
    public TimeSpan StatsPeriod { get; }
    public int Verbose { get; }
    public string? Logfile { get; }
    public string? Pidfile { get; }

    /// <summary>Unix user to switch to at start.</summary>
    public string? User { get; }
    public bool Syslog { get; }
    public string SyslogIdent { get; }
    public string SyslogFacility { get; }
    public string JobName { get; }

    public bool DisablePqexec { get; }
    public bool ApplicationNameAddHost { get; }

    /// <summary>0 disables protocol-level prepared statement support.</summary>
    public int MaxPreparedStatements { get; }
    public int ScramIterations { get; }

    /// <summary>Queue wait after which a client gets a NOTICE; zero = never.</summary>
    public TimeSpan QueryWaitNotify { get; }
    public string LoginNotifyMessage { get; }
    public int PeerId { get; }

    /// <summary>Sluice only: in transaction pooling, keep a client on its server while it holds session state.</summary>
    public bool PinSessionState { get; }

    /// <summary>Sluice only: "text" (PgBouncer's line format) or "json" (one object per line).</summary>
    public string LogFormat { get; }

    public TlsMode ClientTlsSslMode { get; }
    public string ClientTlsKeyFile { get; }
    public string ClientTlsCertFile { get; }
    public string ClientTlsCaFile { get; }
    public string ClientTlsProtocols { get; }
    public string ClientTlsCiphers { get; }
    public string? ClientTls13Ciphers { get; }
    public string ClientTlsEcdhCurve { get; }
    public string ClientTlsDheParams { get; }
    public TlsMode ServerTlsSslMode { get; }
    public string ServerTlsKeyFile { get; }
    public string ServerTlsCertFile { get; }
    public string ServerTlsCaFile { get; }
    public string ServerTlsProtocols { get; }
    public string ServerTlsCiphers { get; }
    public string? ServerTls13Ciphers { get; }

    /// <summary>Sluice-only: address of the metrics endpoint; "" = off.</summary>
    public string StatsListenAddr { get; }

    /// <summary>Sluice-only: port of the metrics endpoint; 0 = off.</summary>
    public int StatsListenPort { get; }
}
