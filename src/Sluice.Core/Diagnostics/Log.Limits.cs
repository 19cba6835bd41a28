using Microsoft.Extensions.Logging;

namespace Sluice.Diagnostics;

/// <summary>Pool sizing lines in PgBouncer's words (its tests count them).</summary>
internal static partial class Log
{
    /// <summary>A server opened past pool_size for a client that waited reserve_pool_timeout; logged once per server.</summary>
    [LoggerMessage(500, LogLevel.Warning, "{Peer} taking connection from reserve_pool")]
    public static partial void TakingFromReservePool(ILogger logger, string peer);
}
