using Sluice.Config;

namespace Sluice.Pooling;

/// <summary>
/// A pool's effective settings after PgBouncer's precedence: user &gt; database &gt; global for pool_mode,
/// pool_size, reserve_pool_size and the per-user timeouts; database &gt; global for min_pool_size,
/// server_lifetime and max_db_connections. Rebuilt on every reload.
/// </summary>
internal sealed record PoolSettings(
    PoolMode Mode,
    int PoolSize,
    bool RoundRobin,
    int MinPoolSize = 0,
    int ReservePoolSize = 0,
    TimeSpan ReservePoolTimeout = default,
    int MaxDbConnections = 0,
    int MaxUserConnections = 0,
    TimeSpan ServerLifetime = default,
    TimeSpan ServerIdleTimeout = default,
    TimeSpan QueryWaitTimeout = default,
    TimeSpan QueryTimeout = default,
    TimeSpan IdleTransactionTimeout = default,
    TimeSpan TransactionTimeout = default,
    TimeSpan ClientIdleTimeout = default)
{
    public static PoolSettings Resolve(PoolerConfig config, DatabaseEntry database, UserEntry? user) => new(
        config.ResolvePoolMode(database, user),
        config.ResolvePoolSize(database, user),
        config.ServerRoundRobin,
        config.ResolveMinPoolSize(database),
        config.ResolveReservePoolSize(database, user),
        config.ReservePoolTimeout,
        database.MaxDbConnections ?? config.MaxDbConnections,
        user?.MaxUserConnections ?? config.MaxUserConnections,
        config.ResolveServerLifetime(database),
        config.ServerIdleTimeout,
        config.ResolveQueryWaitTimeout(database, user),
        Seconds(user?.QueryTimeout) ?? config.QueryTimeout,
        Seconds(user?.IdleTransactionTimeout) ?? config.IdleTransactionTimeout,
        Seconds(user?.TransactionTimeout) ?? config.TransactionTimeout,
        Seconds(user?.ClientIdleTimeout) ?? config.ClientIdleTimeout);

    private static TimeSpan? Seconds(double? value) => value is { } s ? TimeSpan.FromSeconds(s) : null;
}
