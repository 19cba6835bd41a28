using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sluice.Transport.Epoll;

/// <summary>
/// A plain TCP or Unix socket served by one of Sluice's own event loops instead of .NET's socket engine: one
/// edge-triggered epoll registration for the socket's life, <c>recv</c>/<c>send</c> called directly on the file
/// descriptor, and a parked operation woken inline on the loop's thread. A read is tried only when the last one
/// may have left data behind or an edge said more came, so an idle client costs no system call and a busy one
/// no <c>EAGAIN</c> per message.
/// </summary>
internal sealed class EpollConnection : Connection
{
    private readonly EventLoop _loop;
    private readonly Readiness _read = new();
    private Readiness? _write;   // made by the first send that does not fit: most connections never need it
    private int _closed;

    public EpollConnection(Socket socket, EventLoop loop) : base(socket)
    {
        socket.Blocking = false;
        _loop = loop;
        Registration = loop.Register(this);
    }

    /// <summary>Where this connection sits in its loop's table; the loop drops events for an older tenant.</summary>
    internal ulong Registration { get; }

    /// <summary>The event loop's callback: EPOLLIN/EPOLLOUT edges, and hang-ups and errors as both.</summary>
    internal void OnEvents(uint events)
    {
        if ((events & (LibC.EPOLLIN | LibC.EPOLLRDHUP | LibC.EPOLLHUP | LibC.EPOLLERR)) != 0)
        {
            _read.Signal();
        }
        if ((events & (LibC.EPOLLOUT | LibC.EPOLLHUP | LibC.EPOLLERR)) != 0)
        {
            Volatile.Read(ref _write)?.Signal();
        }
    }

    public override ValueTask WaitForDataAsync(CancellationToken cancellationToken = default) => _read.WaitAsync(cancellationToken);

    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            // The zero-byte read of an idle loop: wait for data without taking a buffer.
            var wait = _read.WaitAsync(cancellationToken);
            return wait.IsCompletedSuccessfully ? new ValueTask<int>(0) : AwaitZero(wait);
        }
        return ReceiveReadyAsync(buffer, cancellationToken);

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        static async ValueTask<int> AwaitZero(ValueTask wait)
        {
            await wait.ConfigureAwait(false);
            return 0;
        }
    }

    public override ValueTask<int> ReceiveReadyAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var received = TryReceive(buffer.Span);
        return received >= 0 ? new ValueTask<int>(received) : ReceiveSlowAsync(buffer, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveSlowAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            await _read.WaitAsync(cancellationToken).ConfigureAwait(false);
            var received = TryReceive(buffer.Span);
            if (received >= 0)
            {
                return received;
            }
        }
    }

    public override async ValueTask<int> PeekAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var peeked = TryReceive(buffer.Span, LibC.MSG_PEEK);
            if (peeked >= 0)
            {
                return peeked;
            }
            await _read.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Bytes read (0 at end of stream), or -1 when the socket is empty for now. Throws on a socket error.</summary>
    private unsafe int TryReceive(Span<byte> buffer, int flags = 0)
    {
        using var lease = new DescriptorLease(Socket.SafeHandle);
        _read.BeforeAttempt();
        nint received;
        fixed (byte* bytes = buffer)
        {
            received = LibC.Recv(lease.Descriptor, bytes, (nuint)buffer.Length, flags);
        }
        if (received < 0)
        {
            return Failed(Marshal.GetLastPInvokeError(), _read);
        }
        // A full buffer may have left more behind; a peek leaves the bytes where they were.
        if (received > 0 && (received == buffer.Length || flags == LibC.MSG_PEEK))
        {
            _read.MayHaveMore();
        }
        return (int)received;
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var sent = TrySend(data.Span);
        return sent == data.Length ? ValueTask.CompletedTask : SendSlowAsync(data[Math.Max(sent, 0)..], cancellationToken);
    }

    /// <summary>A peer that reads slower than it is sent to: the rest goes out as its socket buffer drains.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendSlowAsync(ReadOnlyMemory<byte> rest, CancellationToken cancellationToken)
    {
        var write = Volatile.Read(ref _write);
        if (write is null)
        {
            // The first send that found the buffer full: from now on the loop reports output edges too (the
            // registration change reports room that came in the meantime, so none is missed).
            write = new Readiness();
            Volatile.Write(ref _write, write);
            _loop.WatchWrites(this);
        }
        while (!rest.IsEmpty)
        {
            var sent = TrySend(rest.Span, write);
            if (sent >= 0)
            {
                rest = rest[sent..];
                continue;
            }
            await write.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Bytes sent, or -1 when the socket buffer is full. Throws on a socket error.</summary>
    private unsafe int TrySend(ReadOnlySpan<byte> data, Readiness? write = null)
    {
        using var lease = new DescriptorLease(Socket.SafeHandle);
        write?.BeforeAttempt();
        nint sent;
        fixed (byte* bytes = data)
        {
            sent = LibC.Send(lease.Descriptor, bytes, (nuint)data.Length, LibC.MSG_NOSIGNAL);
        }
        if (sent < 0)
        {
            return Failed(Marshal.GetLastPInvokeError(), write);
        }
        if (sent == data.Length)
        {
            write?.MayHaveMore();
        }
        return (int)sent;
    }

    private static int Failed(int errno, Readiness? direction)
    {
        if (errno == LibC.EAGAIN)
        {
            return -1;
        }
        if (errno == LibC.EINTR)
        {
            direction?.MayHaveMore();
            return -1;
        }
        direction?.MayHaveMore();   // a waiter must not sleep on a broken socket
        throw new SocketException(ToSocketError(errno));
    }

    /// <summary>errno as the SocketError numbers callers already handle from .NET's sockets.</summary>
    internal static int ToSocketError(int errno) => errno switch
    {
        111 => (int)SocketError.ConnectionRefused,   // ECONNREFUSED
        101 => (int)SocketError.NetworkUnreachable,  // ENETUNREACH
        104 => (int)SocketError.ConnectionReset,     // ECONNRESET
        32 => (int)SocketError.Shutdown,             // EPIPE
        110 => (int)SocketError.TimedOut,            // ETIMEDOUT
        113 => (int)SocketError.HostUnreachable,     // EHOSTUNREACH
        107 => (int)SocketError.NotConnected,        // ENOTCONN
        9 => (int)SocketError.OperationAborted,      // EBADF
        _ => (int)SocketError.SocketError,
    };

    public override void TrySendFinal(ReadOnlySpan<byte> data)
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            return;
        }
        try
        {
            // Never waits: the last words go out only if the socket buffer has room (it almost always has).
            TrySend(data);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The peer is gone already; nothing to tell it.
        }
    }

    /// <summary>Starts reporting output edges before a non-blocking connect, whose completion is one.</summary>
    public void WatchConnect()
    {
        Volatile.Write(ref _write, new Readiness());
        _loop.WatchWrites(this);
    }

    /// <summary>Called before each look at whether the connect finished, so an edge after the look wakes the wait.</summary>
    public void BeforeConnectCheck() => _write!.BeforeAttempt();

    /// <summary>Completes at the next output edge (or hang-up) after <see cref="BeforeConnectCheck"/>.</summary>
    public ValueTask WaitForConnectAsync(CancellationToken cancellationToken) => _write!.WaitAsync(cancellationToken);

    /// <summary>
    /// Hands the socket back to .NET's engine for a TLS handshake (SslStream works on a NetworkStream): the loop
    /// stops reporting it, so the two engines never both wait on one descriptor.
    /// </summary>
    public override void Detach() => _loop.Unregister(this, socketLivesOn: true);

    public override void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        _loop.Unregister(this, socketLivesOn: false);
        Socket.CloseQuietly();
        // Anything parked wakes, tries its call on the closed socket and gets the error.
        _read.Signal();
        Volatile.Read(ref _write)?.Signal();
    }
}
