using Sluice.Protocol;

namespace Sluice.Pooling;

internal sealed partial class ClientConnection
{
    private const string QueuedNotice = "No server connection available in postgres backend, client being queued";

    /// <summary>The wait (by its start) that already got the query_wait_notify NOTICE: one per wait, not per client.</summary>
    private long _noticedWaitStart;

    /// <summary>
    /// query_wait_notify: tells a client queued longer than <paramref name="after"/> why its query is slow.
    /// Called by the pool under its lock while the client is still queued, so no server output can be on its way
    /// to this client at the same time. A client still logging in gets nothing: its cancel key, given with the welcome, is not set yet.
    /// </summary>
    public void NotifyIfQueuedTooLong(long now, TimeSpan after)
    {
        var started = WaitStartTimestamp;
        if (_state != ClientState.Waiting || _noticedWaitStart == started || CancelProcessId == 0
            || Pooler.Time.GetElapsedTime(started, now) <= after)
        {
            return;
        }
        _noticedWaitStart = started;
        var b = new MessageBuilder(128);
        BackendMessages.WriteError(b, "NOTICE", "00000", QueuedNotice, notice: true);
        try
        {
            // Nearly always done at once: a waiting client has nothing else in flight. A failure is the client
            // going away, which its own loop notices.
            var pending = _connection.SendAsync(b.Written);
            if (!pending.IsCompleted)
            {
                _ = pending.AsTask().ContinueWith(static t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            }
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException or IOException)
        {
            // The client is gone; its own loop notices and cleans up.
        }
    }
}
