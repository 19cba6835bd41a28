using System.Threading.Tasks.Sources;

namespace Sluice.Transport.Epoll;

/// <summary>
/// One direction (read or write) of an <see cref="EpollConnection"/>: whether the socket may have data (or room),
/// and the one operation parked until it does. Edge-triggered epoll reports a change once, so the flag remembers
/// it until a system call finds the socket empty (or full) again. The waiter's continuation runs inline on the
/// event-loop thread that saw the edge, like PgBouncer's callbacks: no queueing, no ExecutionContext, one reused
/// awaitable per direction, so waiting allocates nothing.
/// </summary>
internal sealed class Readiness : IValueTaskSource
{
    private const int NotReady = 0;   // the last system call found the socket empty (full) and no edge came since
    private const int Ready = 1;      // an edge came, or a call may have left more behind: try the call
    private const int Parked = 2;     // an operation waits in _waiter for the next edge

    // Registering a socket with epoll reports at once what is already there, so a new one starts not ready.
    private int _state = NotReady;
    private ManualResetValueTaskSourceCore<bool> _waiter;
    private CancellationTokenRegistration _cancellation;

    public bool IsReady => Volatile.Read(ref _state) == Ready;

    /// <summary>
    /// Called just before the system call: an edge that comes during or after the call sets the flag again, so
    /// clearing first can never lose one.
    /// </summary>
    public void BeforeAttempt() => Volatile.Write(ref _state, NotReady);

    /// <summary>The call used every byte it was given (a full read, a full send): there may be more to do at once.</summary>
    public void MayHaveMore() => Volatile.Write(ref _state, Ready);

    /// <summary>The event loop saw an edge (or the connection is closing): wakes the parked operation, if any.</summary>
    public void Signal()
    {
        if (Interlocked.Exchange(ref _state, Ready) == Parked)
        {
            _cancellation.Dispose();
            _cancellation = default;
            _waiter.SetResult(true);
        }
    }

    /// <summary>
    /// Completes when an edge comes (at once when one came since <see cref="BeforeAttempt"/>). One operation per
    /// direction waits at a time, as the connection's callers guarantee.
    /// </summary>
    public ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        _waiter.Reset();
        if (Interlocked.CompareExchange(ref _state, Parked, NotReady) != NotReady)
        {
            return ValueTask.CompletedTask;
        }
        if (cancellationToken.CanBeCanceled)
        {
            // Only logins and internal waits carry a token (client_login_timeout, server_connect_timeout).
            _cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((Readiness)state!).Cancel(token), this);
        }
        return new ValueTask(this, _waiter.Version);
    }

    private void Cancel(CancellationToken token)
    {
        if (Interlocked.CompareExchange(ref _state, NotReady, Parked) == Parked)
        {
            _waiter.SetException(new OperationCanceledException(token));
        }
    }

    void IValueTaskSource.GetResult(short token) => _waiter.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _waiter.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _waiter.OnCompleted(continuation, state, token, flags);
}
