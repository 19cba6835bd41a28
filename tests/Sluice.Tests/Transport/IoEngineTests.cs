using System.Net;
using System.Net.Sockets;

namespace Sluice.Transport;

public sealed class IoEngineTests
{
    [Fact]
    public async Task Connecting_to_a_closed_port_fails_as_connection_refused()
    {
        // A port just released by a listener: nothing listens there, so the kernel refuses at once.
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var e = await Assert.ThrowsAsync<SocketException>(async () =>
            await IoEngine.ConnectAsync(socket, new IPEndPoint(IPAddress.Loopback, port), CancellationToken.None));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }

    [Fact]
    public async Task A_connected_socket_knows_its_peer_and_carries_bytes_both_ways()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var connection = await IoEngine.ConnectAsync(socket, listener.LocalEndPoint!, CancellationToken.None);
        using var accepted = listener.Accept();
        try
        {
            Assert.Equal(listener.LocalEndPoint, socket.RemoteEndPoint);
            await connection.SendAsync("ping"u8.ToArray());
            var buffer = new byte[4];
            Assert.Equal(4, accepted.Receive(buffer));
            accepted.Send("pong"u8);
            await connection.WaitForDataAsync();
            Assert.Equal(4, await connection.ReceiveReadyAsync(buffer));
            Assert.Equal("pong"u8.ToArray(), buffer);
        }
        finally
        {
            connection.Close();
        }
    }
}
