using System.Threading.Tasks.Sources;

namespace Sluice.Pooling;

/// <summary>
/// Waiting for a server without allocating: the client itself is the awaitable that
/// <see cref="Pool.Release"/> completes, its queue node is reused for every wait, and the hand-over is queued
/// to the thread pool as the client itself (an <see cref="IThreadPoolWorkItem"/>), so the releasing server's
/// loop never runs the client's code and no callback object is allocated per hand-over.
/// </summary>
internal sealed partial class ClientConnection : IValueTaskSource<ServerConnection>, IThreadPoolWorkItem
{
    private ManualResetValueTaskSourceCore<ServerConnection> _wait = new() { RunContinuationsAsynchronously = false };
    private ServerConnection? _handoff;
    private Exception? _handoffError;

    public LinkedListNode<ClientConnection> WaitNode { get; }

    public long WaitStartTimestamp { get; private set; }

    /// <summary>Called under the pool lock before the client is queued.</summary>
    public void BeginWait()
    {
        _wait.Reset();
        WaitStartTimestamp = Pooler.Time.GetTimestamp();
        _state = ClientState.Waiting;
    }

    public ValueTask<ServerConnection> WaitForServerAsync() => new(this, _wait.Version);

    public void CompleteWait(ServerConnection server)
    {
        _handoff = server;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    public void FailWait(Exception error)
    {
        _handoffError = error;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
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
