namespace Sluice.Hosting;

/// <summary>
/// The graceful shutdowns (SHUTDOWN WAIT_FOR_SERVERS / WAIT_FOR_CLIENTS, SIGINT, SIGTERM), as PgBouncer runs them:
/// the TCP listeners close at once, the Unix socket stays open so the console can still be reached (other
/// logins are refused with "pooler is shutting down"), and it goes when the process exits.
/// </summary>
public sealed partial class Pooler
{
    private int _drainMode = -1;   // a ShutdownMode once a graceful shutdown began; -1 before

    /// <summary>WAIT_FOR_SERVERS: a client that needs a server for a new transaction is disconnected instead.</summary>
    internal bool RefusesNewTransactions => Volatile.Read(ref _drainMode) == (int)ShutdownMode.WaitForServers;

    private bool IsDraining => Volatile.Read(ref _drainMode) >= 0;

    /// <summary>Starts a graceful shutdown; the first one asked for wins. Runs before the console's reply goes out.</summary>
    private void BeginDrain(ShutdownMode mode)
    {
        if (mode == ShutdownMode.Immediate || Interlocked.CompareExchange(ref _drainMode, (int)mode, -1) != -1)
        {
            return;
        }
        StopTcpListening();
        if (mode == ShutdownMode.WaitForServers)
        {
            // Running transactions finish; clients already queued for a server are told to go by the janitor.
            _pausedAll = true;
            foreach (var pool in Pools.All)
            {
                pool.Pause();
            }
        }
    }

    internal const string ServerShuttingDown = "server shutting down";

    private void StopTcpListening()
    {
        lock (_listeners)
        {
            for (var i = _listeners.Count - 1; i >= 0; i--)
            {
                if (!_listeners[i].IsUnix)
                {
                    _listeners[i].Dispose();
                    _listeners.RemoveAt(i);
                }
            }
        }
    }
}
