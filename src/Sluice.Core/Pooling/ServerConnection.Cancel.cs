namespace Sluice.Pooling;

/// <summary>
/// Cancel requests in flight for this server. Until PostgreSQL has taken each one, the server is not handed to
/// another client, or a late cancel meant for the old client's query would stop the new client's (PgBouncer's
/// "being canceled" state).
/// </summary>
internal sealed partial class ServerConnection
{
    private int _cancelsInFlight;
    private bool _releaseAfterCancels;

    /// <summary>Counts a cancel about to be sent for <paramref name="client"/>'s query; false if the server is no longer its.</summary>
    public bool TryBeginCancel(ClientConnection client)
    {
        lock (_stateLock)
        {
            if (_client != client || _state != ServerState.Active)
            {
                return false;
            }
            _cancelsInFlight++;
            return true;
        }
    }

    /// <summary>The cancel was delivered (or failed): a release held back for it happens now.</summary>
    public void EndCancel()
    {
        bool release;
        lock (_stateLock)
        {
            _cancelsInFlight--;
            release = _cancelsInFlight == 0 && _releaseAfterCancels;
            if (release)
            {
                _releaseAfterCancels = false;
            }
        }
        if (release)
        {
            Pool.Release(this);
        }
    }

    /// <summary>Called by <see cref="Pool.Release"/>: true when cancels are still in flight and the release must wait for them.</summary>
    public bool HoldReleaseForCancels()
    {
        lock (_stateLock)
        {
            if (_cancelsInFlight == 0)
            {
                return false;
            }
            _releaseAfterCancels = true;
            return true;
        }
    }
}
