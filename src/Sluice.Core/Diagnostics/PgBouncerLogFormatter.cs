using System.Text;
using Microsoft.Extensions.Logging;

namespace Sluice.Diagnostics;

/// <summary>
/// Formats lines as PgBouncer does (<c>2026-11-26 14:43:07.532 UTC [14396] LOG message</c>) so that
/// operators' greps and log shippers keep working.
/// </summary>
internal static class PgBouncerLogFormatter
{
    private static readonly int ProcessId = Environment.ProcessId;

    public static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "NOISE",
        LogLevel.Debug => "DEBUG",
        LogLevel.Information => "LOG",
        LogLevel.Warning => "WARNING",
        LogLevel.Error => "ERROR",
        LogLevel.Critical => "FATAL",
        _ => "LOG",
    };

    public static string Format(DateTimeOffset now, LogLevel level, string message, Exception? exception)
    {
        var sb = new StringBuilder(64 + message.Length);
        sb.Append(now.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture));
        sb.Append(" UTC [").Append(ProcessId).Append("] ").Append(LevelName(level)).Append(' ').Append(message);
        if (exception is not null)
        {
            sb.Append(": ").Append(exception.GetType().Name).Append(": ").Append(exception.Message);
            if (level >= LogLevel.Error)
            {
                sb.Append('\n').Append(exception.StackTrace);
            }
        }
        return sb.ToString();
    }
}
