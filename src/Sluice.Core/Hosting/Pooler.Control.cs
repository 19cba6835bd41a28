using System.Collections.Concurrent;
using Sluice.Pooling;
using Sluice.Protocol;

namespace Sluice.Hosting;

/// <summary>The operator's controls (console commands and signals): pause, resume, disable, kill, reconnect, shutdown.</summary>
public sealed partial class Pooler
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private readonly ConcurrentDictionary<string, bool> _disabled = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<ShutdownMode> _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _pausedAll;
    private volatile bool _suspended;
    private readonly ConcurrentDictionary<string, bool> _pausedDatabases = new(StringComparer.Ordinal);

    /// <summary>Completes when a shutdown was requested (SHUTDOWN command or signal); the host then stops.</summary>
    public Task<ShutdownMode> ShutdownRequested => _shutdown.Task;

    public bool IsPaused => _pausedAll;

    /// <summary>SUSPEND was issued (a kind of pause: <see cref="IsPaused"/> is true too).</summary>
    public bool IsSuspended => _suspended;

    public bool IsShuttingDown => _stopping || IsDraining;

    internal bool IsDisabled(string database) => _disabled.ContainsKey(database);

    /// <summary>Paused by PAUSE (all) or PAUSE db; pools created later start paused too.</summary>
    internal bool IsPausedFor(string database) => _pausedAll || _pausedDatabases.ContainsKey(database);

    internal bool AnyDatabasePaused => !_pausedDatabases.IsEmpty;

    /// <summary>PAUSE [db]: returns once every server of the affected pools is released and closed.</summary>
    public async Task PauseAsync(string? database = null, CancellationToken cancellationToken = default)
    {
        if (database is null)
        {
            _pausedAll = true;
        }
        else
        {
            _pausedDatabases[database] = true;
        }
        foreach (var pool in Select(database))
        {
            pool.Pause();
        }
        while (Select(database).Any(p => p.BusyServerCount > 0))
        {
            await Task.Delay(PollInterval, Time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// SUSPEND: every pool stops handing out servers, as with PAUSE, but keeps them open. PgBouncer also stops
    /// reading its sockets and returns once its buffers are flushed; Sluice buffers nothing between messages, so
    /// it returns at once, and a client already linked to a server (session pooling) goes on.
    /// </summary>
    public void Suspend()
    {
        _suspended = true;
        _pausedAll = true;
        foreach (var pool in Select(null))
        {
            pool.Suspend();
        }
    }

    /// <summary>RESUME [db].</summary>
    public void Resume(string? database = null)
    {
        if (database is null)
        {
            _suspended = false;
            _pausedAll = false;
            _pausedDatabases.Clear();
        }
        else
        {
            _pausedDatabases.TryRemove(database, out _);
        }
        foreach (var pool in Select(database))
        {
            if (!IsPausedFor(pool.Key.Database))
            {
                pool.Resume();
            }
        }
    }

    /// <summary>DISABLE db: new logins to the database are refused; connected clients carry on.</summary>
    public void Disable(string database) => _disabled[database] = true;

    public void Enable(string database) => _disabled.TryRemove(database, out _);

    /// <summary>RECONNECT [db]: every server is replaced as soon as it is released.</summary>
    public void Reconnect(string? database = null)
    {
        foreach (var pool in Select(database))
        {
            pool.Reconnect();
        }
    }

    /// <summary>KILL [db]: drops all clients and servers of the database (or of all) at once and pauses it.</summary>
    public void Kill(string? database)
    {
        if (database is null)
        {
            _pausedAll = true;
        }
        else
        {
            _pausedDatabases[database] = true;
        }
        foreach (var pool in Select(database))
        {
            pool.Pause();
            pool.FailWaiters("database killed");
            pool.CloseAllServers("database killed");
        }
        foreach (var client in _clients.Values)
        {
            if (client.Pool is { } pool && (database is null || pool.Key.Database == database))
            {
                client.Disconnect("database killed", SqlState.AdminShutdown);
            }
        }
    }

    /// <summary>KILL_CLIENT id: disconnects one client (its server is closed if it was mid-transaction).</summary>
    public bool KillClient(long id)
    {
        if (!_clients.TryGetValue(id, out var client) || client.IsDisconnecting)
        {
            return false;
        }
        client.Disconnect("admin forced disconnect", SqlState.AdminShutdown);
        return true;
    }

    /// <summary>WAIT_CLOSE [db]: returns once no server of an older generation (RECONNECT, repointed) is left.</summary>
    public async Task WaitCloseAsync(string? database = null, CancellationToken cancellationToken = default)
    {
        while (Select(database).Any(p => p.SnapshotServers().Any(s => s.Generation != p.Generation)))
        {
            await Task.Delay(PollInterval, Time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Asks the host to stop (SHUTDOWN command). The host then calls <see cref="ShutdownAsync"/>.</summary>
    public void RequestShutdown(ShutdownMode mode)
    {
        BeginDrain(mode);
        _shutdown.TrySetResult(mode);
    }

    /// <summary>
    /// Stops per <paramref name="mode"/>: waits for clients (SIGTERM) or servers (SIGINT) first, then closes
    /// everything. Cancelling the token (a second signal) turns any wait into an immediate stop.
    /// </summary>
    public async Task ShutdownAsync(ShutdownMode mode, CancellationToken cancellationToken = default)
    {
        try
        {
            switch (mode)
            {
                case ShutdownMode.WaitForClients:
                    BeginDrain(mode);
                    while (!_clients.IsEmpty)
                    {
                        await Task.Delay(PollInterval, Time, cancellationToken).ConfigureAwait(false);
                    }
                    break;
                case ShutdownMode.WaitForServers:
                    BeginDrain(mode);
                    await PauseAsync(null, cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
        catch (OperationCanceledException)
        {
            // A second signal: stop now.
        }
        await DisposeAsync().ConfigureAwait(false);
    }

    private IEnumerable<Pool> Select(string? database)
    {
        foreach (var pool in Pools.All)
        {
            if (database is null || pool.Key.Database == database)
            {
                yield return pool;
            }
        }
    }
}
