namespace Sluice.Pooling;

internal sealed partial class Pool
{
    /// <summary>query_wait_notify: a NOTICE to each client that has been queued too long (once per wait).</summary>
    public void NotifyLongWaiters(long now, TimeSpan after)
    {
        if (after <= TimeSpan.Zero)
        {
            return;
        }
        lock (_lock)
        {
            for (var node = _waiters.First; node is not null; node = node.Next)
            {
                node.Value.NotifyIfQueuedTooLong(now, after);
            }
        }
    }
}
