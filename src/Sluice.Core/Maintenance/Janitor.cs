using Sluice.Hosting;
using Sluice.Pooling;
using Sluice.Protocol;

namespace Sluice.Maintenance;

/// <summary>
/// Periodic maintenance, like PgBouncer's janitor: applies every timeout and keeps pools at their minimum.
/// Driven by a <see cref="TimeProvider"/> timer, and <see cref="Tick"/> can be called directly so that tests
/// advance a fake clock instead of sleeping.
/// </summary>
internal sealed class Janitor : IDisposable
{
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(500);

    private readonly Pooler _pooler;
    private ITimer? _timer;
    private int _running;

    private readonly StatsLogger _statsLogger;
    private readonly MemoryTrimmer _memoryTrimmer;

    public Janitor(Pooler pooler)
    {
        _pooler = pooler;
        _statsLogger = new StatsLogger(pooler);
        _memoryTrimmer = new MemoryTrimmer(pooler.Time, MemoryTrimmer.RuntimeGc.Instance);
    }

    public void Start() => _timer = _pooler.Time.CreateTimer(static state => ((Janitor)state!).Tick(), this, Period, Period);

    public void Tick()
    {
        // A slow tick must not overlap the next one.
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            return;
        }
        try
        {
            var now = _pooler.Time.GetTimestamp();
            _pooler.Pools.CreateMinimumPools(_pooler.Config);
            var waitNotify = _pooler.Config.QueryWaitNotify;
            var shuttingDown = _pooler.RefusesNewTransactions;
            foreach (var pool in _pooler.Pools.All)
            {
                if (shuttingDown)
                {
                    // SHUTDOWN WAIT_FOR_SERVERS: clients queued for a server will not get one. PgBouncer tells
                    // them on its maintenance pass too, not at the command itself.
                    pool.FailWaiters(Pooler.ServerShuttingDown);
                }
                pool.Maintain(now);
                pool.NotifyLongWaiters(now, waitNotify);
            }
            foreach (var client in _pooler.Clients)
            {
                CheckClient(client, now);
            }
            _pooler.DropIdleAutoDatabases(now);
            _statsLogger.MaybeLog(now);
            _memoryTrimmer.Tick();
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private void CheckClient(ClientConnection client, long now)
    {
        var pool = client.Pool;
        if (pool is null)
        {
            return;
        }
        var settings = pool.Settings;
        var time = _pooler.Time;
        var server = client.Server;
        if (server is null)
        {
            if (client.State == ClientState.Idle && settings.ClientIdleTimeout > TimeSpan.Zero
                && time.GetElapsedTime(client.LastActivityTimestamp, now) >= settings.ClientIdleTimeout)
            {
                client.Disconnect("client_idle_timeout", SqlState.ProtocolViolation);
            }
            return;
        }
        var activity = server.Activity;
        string? reason = null;
        if (activity.QueryInProgress)
        {
            if (settings.QueryTimeout > TimeSpan.Zero && activity.QueryStart != 0
                && time.GetElapsedTime(activity.QueryStart, now) >= settings.QueryTimeout)
            {
                reason = "query timeout";
            }
        }
        else if (activity.Status != TransactionStatus.Idle && settings.IdleTransactionTimeout > TimeSpan.Zero
            && time.GetElapsedTime(activity.LastReady, now) >= settings.IdleTransactionTimeout)
        {
            reason = "idle transaction timeout";
        }
        else if (_pooler.Config.ServerFastClose && activity.Status == TransactionStatus.Idle && server.Generation != pool.Generation)
        {
            // server_fast_close: a session's server from before RECONNECT or a changed database entry goes
            // now, between transactions, instead of when the session ends.
            reason = "database configuration changed";
        }
        if (reason is null && activity.Status != TransactionStatus.Idle && settings.TransactionTimeout > TimeSpan.Zero
            && activity.TransactionStart != 0 && time.GetElapsedTime(activity.TransactionStart, now) >= settings.TransactionTimeout)
        {
            reason = "transaction timeout";
        }
        if (reason is not null)
        {
            // The server is closed (its transaction dies with it) and the client told why, as PgBouncer does. The
            // server goes first: a client closed first would drop it as "client disconnected with query in progress".
            server.Close(reason);
            client.Disconnect(reason, SqlState.ProtocolViolation);
        }
    }

    public void Dispose() => _timer?.Dispose();
}
