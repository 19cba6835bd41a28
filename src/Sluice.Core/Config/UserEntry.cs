namespace Sluice.Config;

/// <summary>One [users] line: per-user overrides that beat both the database and the global settings. Times are seconds; null = not set here.</summary>
public sealed class UserEntry
{
    private UserEntry(string name) => Name = name;

    public string Name { get; }
    public PoolMode? PoolMode { get; private set; }
    public int? PoolSize { get; private set; }
    public int? ReservePoolSize { get; private set; }
    public int? MaxUserConnections { get; private set; }
    public int? MaxUserClientConnections { get; private set; }
    public double? QueryTimeout { get; private set; }
    public double? IdleTransactionTimeout { get; private set; }
    public double? TransactionTimeout { get; private set; }
    public double? ClientIdleTimeout { get; private set; }
    public double? QueryWaitTimeout { get; private set; }

    /// <exception cref="ConfigException">Syntax error, unknown parameter or bad value (without file/line).</exception>
    public static UserEntry Parse(string name, string connString)
    {
        var entry = new UserEntry(name);
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
            case "pool_mode": PoolMode = ConnValue.PoolMode(Name, key, value); break;
            case "pool_size": PoolSize = ConnValue.Int(Name, key, value); break;
            case "reserve_pool_size": ReservePoolSize = ConnValue.Int(Name, key, value); break;
            case "max_user_connections": MaxUserConnections = ConnValue.Int(Name, key, value); break;
            case "max_user_client_connections": MaxUserClientConnections = ConnValue.Int(Name, key, value); break;
            case "query_timeout": QueryTimeout = ConnValue.Seconds(Name, key, value); break;
            case "idle_transaction_timeout": IdleTransactionTimeout = ConnValue.Seconds(Name, key, value); break;
            case "transaction_timeout": TransactionTimeout = ConnValue.Seconds(Name, key, value); break;
            case "client_idle_timeout": ClientIdleTimeout = ConnValue.Seconds(Name, key, value); break;
            case "query_wait_timeout": QueryWaitTimeout = ConnValue.Seconds(Name, key, value); break;
            default: throw new ConfigException($"unrecognized user parameter: {key}", key: Name);
        }
    }
}
