using System.Threading.Tasks.Sources;

namespace Sluice.Pooling;

/// <summary>
/// Waiting for a server without allocating: the client itself is the awaitable that
/// <see cref="Pool.Release"/> completes, and its queue node is reused for every wait.
/// </summary>
internal sealed partial class ClientConnection : IValueTaskSource<ServerConnection>
{
    private ManualResetValueTaskSourceCore<ServerConnection> _wait = new() { RunContinuationsAsynchronously = true };

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

    public void CompleteWait(ServerConnection server) => _wait.SetResult(server);

    public void FailWait(Exception error) => _wait.SetException(error);

    ServerConnection IValueTaskSource<ServerConnection>.GetResult(short token) => _wait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ServerConnection>.GetStatus(short token) => _wait.GetStatus(token);

    void IValueTaskSource<ServerConnection>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wait.OnCompleted(continuation, state, token, flags);
}
