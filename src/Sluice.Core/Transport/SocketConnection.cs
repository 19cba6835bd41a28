using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Sluice.Transport;

/// <summary>
/// A plain TCP or Unix socket in non-blocking mode. Forwarding reads and all writes are first tried as plain
/// non-blocking system calls, which is where nearly all of them end: a forwarding read follows the zero-byte
/// wait that said data is there, and a send fits in the socket buffer. Only a read that finds nothing or a send that does not fit
/// falls back to Socket's async operations (one reused awaitable per direction, no allocation). The direct
/// calls skip the async machinery, and a connection that never had to wait for a send never creates the
/// send awaitable (~360 bytes per idle client).
/// </summary>
internal sealed class SocketConnection : Connection
{
    public SocketConnection(Socket socket) : base(socket) => socket.Blocking = false;

    public override ValueTask WaitForDataAsync(CancellationToken cancellationToken = default)
    {
        var pending = Socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken);
        if (pending.IsCompletedSuccessfully)
        {
            return ValueTask.CompletedTask;
        }
        return Await(pending);

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        static async ValueTask Await(ValueTask<int> pending) => await pending.ConfigureAwait(false);
    }

    /// <summary>Socket's own: it tries the read once unless it already knows the socket is empty, then waits.</summary>
    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    public override ValueTask<int> ReceiveReadyAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!buffer.IsEmpty)
        {
            var received = Socket.Receive(buffer.Span, SocketFlags.None, out var error);
            if (error == SocketError.Success)
            {
                return new ValueTask<int>(received);
            }
            if (error != SocketError.WouldBlock)
            {
                return ValueTask.FromException<int>(new SocketException((int)error));
            }
        }
        return Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var sent = Socket.Send(data.Span, SocketFlags.None, out var error);
        if (error == SocketError.Success && sent == data.Length)
        {
            return ValueTask.CompletedTask;
        }
        if (error is not (SocketError.Success or SocketError.WouldBlock))
        {
            return ValueTask.FromException(new SocketException((int)error));
        }
        // The socket buffer is full (a slow reader): the rest goes out when it drains, without blocking a thread.
        var rest = data[Math.Max(sent, 0)..];
        return AwaitSend(Socket.SendAsync(rest, SocketFlags.None, cancellationToken), rest.Length);

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        static async ValueTask AwaitSend(ValueTask<int> pending, int expected)
        {
            if (await pending.ConfigureAwait(false) != expected)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }
        }
    }

    public override void TrySendFinal(ReadOnlySpan<byte> data)
    {
        try
        {
            // Never wait for a peer that stopped reading: the last words go out only if the socket buffer has
            // room (it almost always has), so an I/O thread is never blocked here.
            Socket.Send(data, SocketFlags.None, out _);
        }
        catch (ObjectDisposedException)
        {
            // The peer is gone already; nothing to tell it.
        }
    }

    public override void Close() => Socket.CloseQuietly();
}
