using Sluice.Diagnostics;
using Sluice.Protocol;

namespace Sluice.Pooling;

/// <summary>
/// Replication clients wait in a queue of their own: an idle pooled server is no use to them, each needs a new
/// server opened with its own startup parameters. Their servers count in pool_size and the database and user
/// limits like any other; when the pool is full, an idle pooled server is closed ("evicted") to make room, as
/// PgBouncer does, because a replication client cannot wait for a server to be released to it.
/// </summary>
internal sealed partial class Pool
{
    private readonly LinkedList<ClientConnection> _replicationWaiters = new();
    private int _replicationServers;   // replication servers connecting or linked, part of _total

    /// <summary>Opens a server for this replication client alone, linked to it, once the limits allow it.</summary>
    public ValueTask<ServerConnection> AcquireReplicationAsync(ClientConnection client)
    {
        ServerConnection? victim;
        lock (_lock)
        {
            client.BeginWait();
            _replicationWaiters.AddLast(client.WaitNode);
            LaunchReplicationConnects();
            victim = TakeIdleForReplication();
        }
        // Its slot goes to the waiting client as the closed server leaves the pool (OnServerClosed).
        victim?.Close("evicted");
        return client.WaitForServerAsync();
    }

    /// <summary>
    /// Janitor: query_wait_timeout ends a replication client's wait as any other's, and one still waiting while a
    /// pooled server sits idle gets that server's slot.
    /// </summary>
    private void MaintainReplicationWaiters(long now)
    {
        var timeout = Settings.QueryWaitTimeout;
        List<ClientConnection>? expired = null;
        ServerConnection? victim;
        bool starved;
        lock (_lock)
        {
            while (timeout > TimeSpan.Zero && _replicationWaiters.First is { } head
                && Pooler.Time.GetElapsedTime(head.Value.WaitStartTimestamp, now) >= timeout)
            {
                _replicationWaiters.RemoveFirst();
                (expired ??= []).Add(head.Value);
            }
            victim = TakeIdleForReplication();
            // Room in the pool itself but none under max_db_connections / max_user_connections: another pool's idle server may give it.
            starved = victim is null && ShouldEvictForReplication() && (Settings.PoolSize <= 0 || _total < Settings.PoolSize);
        }
        victim?.Close("evicted");
        if (starved)
        {
            Pooler.Pools.EvictIdleServerFor(this);
        }
        if (expired is not null)
        {
            foreach (var client in expired)
            {
                client.FailWait(new ServerLoginException(new ErrorFields("FATAL", SqlState.ProtocolViolation, "query_wait_timeout")));
            }
        }
    }

    /// <summary>
    /// RECONNECT or a changed database entry: a replication stream may never end, so its server is not left to
    /// finish as pooled ones are; it is closed now and its client told, as PgBouncer does.
    /// </summary>
    private void CloseReplicationServers(string reason)
    {
        foreach (var server in SnapshotServers())
        {
            if (server.Replication != ReplicationMode.None)
            {
                server.Client?.Disconnect(reason, SqlState.ProtocolViolation);
                server.Close(reason);
            }
        }
    }

    /// <summary>Under the lock: the longest-idle server, when a replication client waits for a slot it holds.</summary>
    private ServerConnection? TakeIdleForReplication()
    {
        if (!ShouldEvictForReplication() || _idle.Count == 0)
        {
            return null;
        }
        var victim = _idle[0];
        _idle.RemoveAt(0);
        return victim;
    }

    /// <summary>Under the lock: a replication client waits, so a server with nothing to do gives up its slot.</summary>
    private bool ShouldEvictForReplication() => _replicationWaiters.Count > 0 && !_paused && !InLoginRetryWindow();

    /// <summary>Under the lock: one dedicated connect per waiting replication client, oldest first, while slots remain.</summary>
    private void LaunchReplicationConnects()
    {
        while (!_paused && _replicationWaiters.First is { } node && !InLoginRetryWindow() && TryTakeServerSlot())
        {
            _replicationWaiters.RemoveFirst();
            _total++;
            _replicationServers++;
            _ = ConnectReplicationAsync(node.Value);
        }
    }

    /// <summary>
    /// A failure here is the client's alone: the pool is not marked as failing (server_login_retry), other clients
    /// keep their servers and their place in the queue.
    /// </summary>
    private async Task ConnectReplicationAsync(ClientConnection client)
    {
        ServerConnection server;
        try
        {
            server = await ConnectToAnyHostAsync(client).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var error = e is ServerLoginException login
                ? login.Error
                : new ErrorFields("FATAL", SqlState.ConnectionFailure, "server connection failed: " + e.Message);
            if (e is not ServerLoginException { Error.Message: "login failed" })
            {
                Log.ServerConnectFailed(Pooler.Logger, Key.ToString(), error.Message);
            }
            lock (_lock)
            {
                _total--;
                _replicationServers--;
                ReleaseSharedSlots();
                LaunchConnectsIfNeeded();
            }
            client.FailWait(new ServerLoginException(error));
            return;
        }
        lock (_lock)
        {
            _servers.Add(server);
        }
        server.LinkTo(client);
        client.CompleteWait(server);
    }
}
