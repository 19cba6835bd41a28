using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Sluice.Transport;

/// <summary>A plain TCP or Unix socket. Socket's ValueTask APIs reuse one awaitable per direction, so the hot path allocates nothing.</summary>
internal sealed class SocketConnection(Socket socket) : Connection(socket)
{
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

    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    public override ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var pending = Socket.SendAsync(data, SocketFlags.None, cancellationToken);
        if (pending.IsCompletedSuccessfully && pending.Result == data.Length)
        {
            return ValueTask.CompletedTask;
        }
        return AwaitSend(pending, data.Length);

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
            Socket.Blocking = false;
            Socket.Send(data, SocketFlags.None);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The peer is gone already; nothing to tell it.
        }
    }

    public override void Close() => Socket.CloseQuietly();
}
