using System.Net;
using System.Net.Sockets;

namespace Sluice.Transport.Epoll;

/// <summary>
/// The event-loop connection over a real loopback TCP pair: edges wake parked reads and sends, nothing is read
/// before data is there, a full socket buffer parks a send until the peer reads, and closing or a token wakes
/// a parked operation instead of leaving it hanging.
/// </summary>
public sealed class EpollConnectionTests : IDisposable
{
    private readonly Socket _peer;
    private readonly EpollConnection _connection;
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(10));

    public EpollConnectionTests()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        _peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _peer.Connect(listener.LocalEndPoint!);
        _connection = EventLoopGroup.Shared.Adopt(listener.Accept());
    }

    public void Dispose()
    {
        _connection.Close();
        _peer.Dispose();
        _timeout.Dispose();
    }

    [Fact]
    public async Task A_zero_byte_wait_parks_until_data_arrives_then_the_read_takes_it()
    {
        // The first wait finds out by trying: nothing there yet, so the read reports an empty socket and parks.
        var buffer = new byte[16];
        var firstRead = _connection.ReceiveReadyAsync(buffer, _timeout.Token);
        Assert.False(firstRead.IsCompleted);
        _peer.Send("abc"u8);
        Assert.Equal(3, await firstRead);

        var wait = _connection.WaitForDataAsync(_timeout.Token);
        Assert.False(wait.IsCompleted);   // the short read drained the socket: no edge, no ready flag
        _peer.Send("hello"u8);
        await wait;
        var read = await _connection.ReceiveReadyAsync(buffer, _timeout.Token);
        Assert.Equal("hello"u8.ToArray(), buffer[..read]);
    }

    [Fact]
    public async Task A_read_that_fills_the_buffer_leaves_the_connection_ready_for_the_rest()
    {
        _peer.Send("0123456789"u8);
        await _connection.WaitForDataAsync(_timeout.Token);
        var buffer = new byte[4];
        var total = new List<byte>();
        while (total.Count < 10)
        {
            var read = await _connection.ReceiveReadyAsync(buffer, _timeout.Token);
            total.AddRange(buffer[..read]);
        }
        Assert.Equal("0123456789"u8.ToArray(), total.ToArray());
    }

    [Fact]
    public async Task A_send_larger_than_the_socket_buffers_completes_as_the_peer_reads()
    {
        var data = new byte[8 * 1024 * 1024];
        Random.Shared.NextBytes(data);
        var send = _connection.SendAsync(data, _timeout.Token);
        Assert.False(send.IsCompleted);   // parked on the full buffer, not spinning or blocking this thread

        var received = new byte[data.Length];
        var filled = 0;
        while (filled < received.Length)
        {
            filled += await _peer.ReceiveAsync(received.AsMemory(filled), SocketFlags.None, _timeout.Token);
        }
        await send;
        Assert.Equal(data, received);
    }

    [Fact]
    public async Task The_peer_closing_ends_a_parked_wait_and_the_read_sees_end_of_stream()
    {
        var wait = _connection.WaitForDataAsync(_timeout.Token);
        Assert.False(wait.IsCompleted);
        _peer.Shutdown(SocketShutdown.Send);
        await wait;
        Assert.Equal(0, await _connection.ReceiveReadyAsync(new byte[8], _timeout.Token));
    }

    [Fact]
    public async Task Closing_wakes_a_parked_read_with_an_error()
    {
        var read = _connection.ReceiveReadyAsync(new byte[8], _timeout.Token);
        Assert.False(read.IsCompleted);
        _connection.Close();
        await Assert.ThrowsAnyAsync<Exception>(async () => await read);
    }

    [Fact]
    public async Task A_cancelled_token_ends_a_parked_wait()
    {
        using var cancel = new CancellationTokenSource();
        var wait = _connection.WaitForDataAsync(cancel.Token);
        Assert.False(wait.IsCompleted);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await wait);

        // The connection is still usable afterwards.
        _peer.Send("x"u8);
        await _connection.WaitForDataAsync(_timeout.Token);
        Assert.Equal(1, await _connection.ReceiveReadyAsync(new byte[8], _timeout.Token));
    }
}
