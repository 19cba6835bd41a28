using Sluice.Config;

namespace Sluice.Pooling;

/// <summary>A pool's effective settings after the user &gt; database &gt; global precedence.</summary>
internal sealed record PoolSettings(PoolMode Mode, int PoolSize, bool RoundRobin)
{
    public static PoolSettings Resolve(PoolerConfig config, DatabaseEntry database, UserEntry? user) =>
        new(config.ResolvePoolMode(database, user), config.ResolvePoolSize(database, user), config.ServerRoundRobin);
}
