using System.Threading.Tasks.Sources;

namespace Sluice.Pooling;

/// <summary>
/// Waiting for a server without allocating: the client itself is the awaitable that
/// <see cref="Pool.Release"/> completes and its queue node is reused for every wait.
/// The hand-over runs the waiting client's continuation on the releasing thread, as PgBouncer's one loop does:
/// a thread-pool hop here cost a futex wake and a context switch per transaction, which on a busy pool was
/// a third of Sluice's CPU. The client's continuation only parses and sends (never blocks), so the releasing
/// server loop is held for one send. A nested hand-over (the continuation releasing another server) goes
/// through the thread pool (the client itself is the <see cref="IThreadPoolWorkItem"/>, no allocation) so
/// the stack never grows with the queue. A failed wait is always queued.
/// </summary>
internal sealed partial class ClientConnection : IValueTaskSource<ServerConnection>, IThreadPoolWorkItem
{
    private ManualResetValueTaskSourceCore<ServerConnection> _wait = new() { RunContinuationsAsynchronously = false };
    private ServerConnection? _handoff;
    private Exception? _handoffError;
    private LinkedListNode<ClientConnection>? _waitNode;   // touched under the pool lock only

    /// <summary>The client's place in its pool's queue, made the first time it has to wait (most never do).</summary>
    public LinkedListNode<ClientConnection> WaitNode => _waitNode ??= new LinkedListNode<ClientConnection>(this);

    /// <summary>Whether the client sits in <paramref name="queue"/>, without making a node to find out.</summary>
    public bool IsQueuedIn(LinkedList<ClientConnection> queue) => _waitNode?.List == queue;

    public long WaitStartTimestamp { get; private set; }

    /// <summary>Called under the pool lock before the client is queued.</summary>
    public void BeginWait()
    {
        _wait.Reset();
        WaitStartTimestamp = Pooler.Time.GetTimestamp();
        _state = ClientState.Waiting;
    }

    public ValueTask<ServerConnection> WaitForServerAsync() => new(this, _wait.Version);

    [ThreadStatic]
    private static bool t_handingOver;

    public void CompleteWait(ServerConnection server)
    {
        _handoff = server;
        HandOver();
    }

    /// <summary>
    /// Always through the thread pool: the caller (Disconnect, KILL, a timeout) still has its FATAL to send
    /// before the client's loop may clean up and close the socket.
    /// </summary>
    public void FailWait(Exception error)
    {
        _handoffError = error;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    private void HandOver()
    {
        if (t_handingOver)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
            return;
        }
        t_handingOver = true;
        try
        {
            ((IThreadPoolWorkItem)this).Execute();
        }
        finally
        {
            t_handingOver = false;
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        if (_handoffError is { } error)
        {
            _handoffError = null;
            _wait.SetException(error);
            return;
        }
        var server = _handoff!;
        _handoff = null;
        _wait.SetResult(server);
    }

    ServerConnection IValueTaskSource<ServerConnection>.GetResult(short token) => _wait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ServerConnection>.GetStatus(short token) => _wait.GetStatus(token);

    void IValueTaskSource<ServerConnection>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wait.OnCompleted(continuation, state, token, flags);
}
