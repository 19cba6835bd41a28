namespace Sluice.Config;

/// <summary>One [databases] line: where the database lives and its per-database pool overrides (null = use the global setting).</summary>
public sealed class DatabaseEntry
{
    public const string FallbackName = "*";
    public const string AdminDatabaseName = "pgbouncer";
    public const int DefaultPort = 5432;

    private DatabaseEntry(string name, string connectionString)
    {
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    /// <summary>The text after '=', kept so RELOAD can tell whether anything changed.</summary>
    public string ConnectionString { get; }

    /// <summary>Target database on the server; null = the name the client asked for.</summary>
    public string? DbName { get; private set; }

    /// <summary>Empty = Unix socket in unix_socket_dir; an entry starting with '/' is a socket directory.</summary>
    public IReadOnlyList<string> Hosts { get; private set; } = [];

    public int Port { get; private set; } = DefaultPort;

    /// <summary>Forced user: every client of this database shares one pool logged in as this user.</summary>
    public string? User { get; private set; }

    public string? Password { get; private set; }
    public string? AuthUser { get; private set; }
    public string? AuthQuery { get; private set; }
    public string? AuthDbName { get; private set; }
    public int? PoolSize { get; private set; }
    public int? MinPoolSize { get; private set; }
    public int? ReservePoolSize { get; private set; }
    public PoolMode? PoolMode { get; private set; }
    public int? MaxDbConnections { get; private set; }
    public int? MaxDbClientConnections { get; private set; }
    public string? ConnectQuery { get; private set; }
    public string? ClientEncoding { get; private set; }
    public string? DateStyle { get; private set; }
    public string? TimeZone { get; private set; }
    public string? ApplicationName { get; private set; }

    /// <summary>Seconds.</summary>
    public double? ServerLifetime { get; private set; }

    /// <summary><c>round-robin</c> or <c>disable</c>; null = PgBouncer's default (round-robin).</summary>
    public string? LoadBalanceHosts { get; private set; }

    /// <summary>Seconds; 0 disables the wait limit for this database.</summary>
    public double? QueryWaitTimeout { get; private set; }

    public bool IsFallback => Name == FallbackName;

    /// <exception cref="ConfigException">Reserved name, syntax error, unknown parameter or bad value (without file/line).</exception>
    public static DatabaseEntry Parse(string name, string connString)
    {
        if (name == AdminDatabaseName)
        {
            throw new ConfigException($"database name \"{AdminDatabaseName}\" is reserved", key: name);
        }

        var entry = new DatabaseEntry(name, connString);
        foreach (var (key, value) in ConnString.Parse(connString, name))
        {
            entry.Set(key, value);
        }

        return entry;
    }

    private void Set(string key, string value)
    {
        switch (key)
        {
            case "dbname": DbName = value; break;
            case "host": Hosts = ValueParser.ParseList(value); break;
            case "port": Port = ConnValue.Int(Name, key, value, 1, 65535); break;
            case "user": User = value; break;
            case "password": Password = value; break;
            case "auth_user": AuthUser = value; break;
            case "auth_query": AuthQuery = value; break;
            case "auth_dbname": AuthDbName = value; break;
            case "pool_size": PoolSize = ConnValue.Int(Name, key, value); break;
            case "min_pool_size": MinPoolSize = ConnValue.Int(Name, key, value); break;
            // reserve_pool is the pre-1.24 spelling; old configs still use it.
            case "reserve_pool" or "reserve_pool_size": ReservePoolSize = ConnValue.Int(Name, key, value); break;
            case "pool_mode": PoolMode = ConnValue.PoolMode(Name, key, value); break;
            case "max_db_connections": MaxDbConnections = ConnValue.Int(Name, key, value); break;
            case "max_db_client_connections": MaxDbClientConnections = ConnValue.Int(Name, key, value); break;
            case "connect_query": ConnectQuery = value; break;
            case "client_encoding": ClientEncoding = value; break;
            case "datestyle": DateStyle = value; break;
            case "timezone": TimeZone = value; break;
            case "application_name": ApplicationName = value; break;
            case "server_lifetime": ServerLifetime = ConnValue.Seconds(Name, key, value); break;
            case "load_balance_hosts": LoadBalanceHosts = ParseLoadBalance(key, value); break;
            case "query_wait_timeout": QueryWaitTimeout = ConnValue.Seconds(Name, key, value); break;
            default: throw new ConfigException($"unrecognized connection parameter: {key}", key: Name);
        }
    }

    private string ParseLoadBalance(string key, string value) =>
        value.ToLowerInvariant() is var mode && mode is "round-robin" or "disable"
            ? mode
            : throw ConnValue.Invalid(Name, key, value);
}
