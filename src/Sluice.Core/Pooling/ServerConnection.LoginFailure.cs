using Sluice.Diagnostics;
using Sluice.Protocol;

namespace Sluice.Pooling;

internal sealed partial class ServerConnection
{
    /// <summary>
    /// The server answered the startup with an ErrorResponse. Logged as PgBouncer does ("server login failed:
    /// FATAL …", then the server slot closing with the server's text); the waiting clients get the same error,
    /// except for 57P03 (the database is starting up), which the next attempt may not meet.
    /// </summary>
    private ServerLoginException RefusedByServer(ErrorFields error)
    {
        var pooler = Pool.Pooler;
        LoginLog.ServerLoginFailed(pooler.Logger, Peer, error.Severity, error.Message);
        if (pooler.Config.LogDisconnections)
        {
            Log.ServerClosing(pooler.Logger, Peer, error.Message, (long)pooler.Time.GetElapsedTime(ConnectTimestamp).TotalSeconds);
        }
        return new ServerLoginException(error) { IsRefusal = error.SqlState != SqlState.CannotConnectNow, IsLogged = true };
    }

    /// <summary>
    /// The pool's secret cannot answer what the server asks (an md5 request with a SCRAM secret, SCRAM without
    /// the client's keys…). The reason is logged; clients get PgBouncer's short text.
    /// </summary>
    private ServerLoginException WrongPasswordType(string reason)
    {
        var pooler = Pool.Pooler;
        LoginLog.ServerAuthImpossible(pooler.Logger, Peer, reason);
        return new ServerLoginException(new ErrorFields("FATAL", SqlState.InvalidPassword, "server login failed: wrong password type")) { IsRefusal = true, IsLogged = true };
    }
}
