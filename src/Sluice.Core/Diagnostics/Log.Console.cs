using Microsoft.Extensions.Logging;

namespace Sluice.Diagnostics;

internal static partial class Log
{
    private const int AdminCommandIssuedId = 611;

    /// <summary>PgBouncer's line for process-wide console commands ("SUSPEND command issued").</summary>
    [LoggerMessage(AdminCommandIssuedId, LogLevel.Information, "{Command} command issued")]
    public static partial void AdminCommandIssued(ILogger logger, string command);
}
