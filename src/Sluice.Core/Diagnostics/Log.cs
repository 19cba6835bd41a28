using Microsoft.Extensions.Logging;

namespace Sluice.Diagnostics;

/// <summary>Every log line Sluice writes, source-generated so a disabled level costs nothing.</summary>
internal static partial class Log
{
    [LoggerMessage(EventIds.Listening, LogLevel.Information, "listening on {Endpoint}")]
    public static partial void Listening(ILogger logger, string endpoint);

    [LoggerMessage(EventIds.ProcessUp, LogLevel.Information, "process up: Sluice {Version}, .NET {Runtime}")]
    public static partial void ProcessUp(ILogger logger, string version, string runtime);

    [LoggerMessage(EventIds.ShuttingDown, LogLevel.Information, "shutting down: {Reason}")]
    public static partial void ShuttingDown(ILogger logger, string reason);

    [LoggerMessage(EventIds.ConfigWarning, LogLevel.Warning, "{Message}")]
    public static partial void ConfigWarning(ILogger logger, string message);

    [LoggerMessage(EventIds.ListenFailed, LogLevel.Error, "cannot listen on {Endpoint}: {Error}")]
    public static partial void ListenFailed(ILogger logger, string endpoint, string error);

    [LoggerMessage(EventIds.ClientLoginAttempt, LogLevel.Debug, "{Peer} login attempt: db={Database} user={User} tls=no")]
    public static partial void ClientLoginAttempt(ILogger logger, string peer, string database, string user);

    /// <summary>PgBouncer's line: <c>tls=no</c>, or the protocol and cipher as in SHOW CLIENTS.</summary>
    [LoggerMessage(EventIds.ClientLogin, LogLevel.Information, "{Peer} login attempt: db={Database} user={User} tls={Tls} replication={Replication}")]
    public static partial void ClientLogin(ILogger logger, string peer, string database, string user, string tls, string replication);

    [LoggerMessage(EventIds.ClientClosing, LogLevel.Information, "{Peer} closing because: {Reason} (age={AgeSeconds}s)")]
    public static partial void ClientClosing(ILogger logger, string peer, string reason, long ageSeconds);

    [LoggerMessage(EventIds.PoolerError, LogLevel.Warning, "{Peer} pooler error: {Message}")]
    public static partial void PoolerError(ILogger logger, string peer, string message);

    [LoggerMessage(EventIds.ServerNewConnection, LogLevel.Information, "{Peer} new connection to server")]
    public static partial void ServerNewConnection(ILogger logger, string peer);

    [LoggerMessage(EventIds.ServerLogin, LogLevel.Debug, "{Peer} login OK")]
    public static partial void ServerLogin(ILogger logger, string peer);

    [LoggerMessage(EventIds.ServerClosing, LogLevel.Information, "{Peer} closing because: {Reason} (age={AgeSeconds}s)")]
    public static partial void ServerClosing(ILogger logger, string peer, string reason, long ageSeconds);

    [LoggerMessage(EventIds.ServerConnectFailed, LogLevel.Warning, "{Peer} server connect failed: {Error}")]
    public static partial void ServerConnectFailed(ILogger logger, string peer, string error);

    [LoggerMessage(EventIds.CancelForwarded, LogLevel.Debug, "cancel request forwarded to {Peer}")]
    public static partial void CancelForwarded(ILogger logger, string peer);

    [LoggerMessage(EventIds.CancelDropped, LogLevel.Debug, "cancel request dropped: {Reason}")]
    public static partial void CancelDropped(ILogger logger, string reason);

    [LoggerMessage(EventIds.Stats, LogLevel.Information, "stats: {Xacts} xacts/s, {Queries} queries/s, {ClientParses} client parses/s, {ServerParses} server parses/s, {Binds} binds/s, {Logins} client logins/s, in {In} B/s, out {Out} B/s, xact {XactUs} us, query {QueryUs} us, wait {WaitUs} us")]
    public static partial void Stats(ILogger logger, long xacts, long queries, long clientParses, long serverParses, long binds, long logins, long @in, long @out, long xactUs, long queryUs, long waitUs);

    [LoggerMessage(EventIds.UnexpectedError, LogLevel.Error, "unexpected error in {Where}")]
    public static partial void UnexpectedError(ILogger logger, string where, Exception exception);
}
