using Microsoft.Extensions.Logging;

namespace Sluice.Diagnostics;

/// <summary>Log lines about refused logins, client and server, worded as PgBouncer's (operators and its test suite grep them).</summary>
internal static partial class LoginLog
{
    private const int ServerLoginFailedId = 210;
    private const int ServerAuthImpossibleId = 211;
    private const int ClientAuthRefusedId = 212;

    [LoggerMessage(ServerLoginFailedId, LogLevel.Warning, "{Peer} server login failed: {Severity} {Message}")]
    public static partial void ServerLoginFailed(ILogger logger, string peer, string severity, string message);

    [LoggerMessage(ServerAuthImpossibleId, LogLevel.Error, "{Peer} {Reason}")]
    public static partial void ServerAuthImpossible(ILogger logger, string peer, string reason);

    /// <summary>Why a client's authentication was refused, when the client itself is told less.</summary>
    [LoggerMessage(ClientAuthRefusedId, LogLevel.Error, "{Peer} {Reason}")]
    public static partial void ClientAuthRefused(ILogger logger, string peer, string reason);
}
