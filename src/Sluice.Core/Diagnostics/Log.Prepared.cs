using Microsoft.Extensions.Logging;

namespace Sluice.Diagnostics;

internal static partial class Log
{
    private const int PreparedNameReusedId = 610;

    /// <summary>PgBouncer's error line when a client Parses a statement name it already uses (the client is then closed).</summary>
    [LoggerMessage(PreparedNameReusedId, LogLevel.Error, "{Peer} prepared statement '{Name}' was already prepared")]
    public static partial void PreparedNameReused(ILogger logger, string peer, string name);
}
