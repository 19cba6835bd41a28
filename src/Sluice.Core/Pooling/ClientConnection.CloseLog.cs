using Sluice.Diagnostics;

namespace Sluice.Pooling;

internal sealed partial class ClientConnection
{
    private bool _closingLogged;

    /// <summary>
    /// A logged-in client told why it is dropped gets its "closing because" line before the error goes out, as
    /// PgBouncer writes it: whoever reads the log after seeing the error finds the line already there.
    /// </summary>
    private void LogClosingBeforeError(string? sqlState)
    {
        if (sqlState is null || _state is ClientState.Login or ClientState.Closed || !Pooler.Config.LogDisconnections)
        {
            return;
        }
        _closingLogged = true;
        Log.ClientClosing(Pooler.Logger, Peer, _closeReason!, (long)Pooler.Time.GetElapsedTime(ConnectTimestamp).TotalSeconds);
    }
}
