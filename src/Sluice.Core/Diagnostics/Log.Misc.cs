using Microsoft.Extensions.Logging;

namespace Sluice.Diagnostics;

/// <summary>More lines in PgBouncer's words (its tests and operators grep for them): tracked parameters, server connects.</summary>
internal static partial class Log
{
    [LoggerMessage(400, LogLevel.Debug, "{Peer} varcache_apply: {Sql}")]
    public static partial void VarcacheApply(ILogger logger, string peer, string sql);

    [LoggerMessage(401, LogLevel.Debug, "{Peer} varcache_set_canonical: setting {Name} to its canonical version {ClientValue} -> {ServerValue}")]
    public static partial void VarcacheSetCanonical(ILogger logger, string peer, string name, string clientValue, string serverValue);

    [LoggerMessage(402, LogLevel.Information, "{Peer} new connection to server (from {Local})")]
    public static partial void ServerNewConnectionFrom(ILogger logger, string peer, string local);

    [LoggerMessage(403, LogLevel.Information, "registered new auto-database: {Name}")]
    public static partial void AutoDatabaseRegistered(ILogger logger, string name);
}
