using System.Net;
using System.Net.Sockets;

namespace Sluice.Transport;

/// <summary>
/// The cancel connection: a short-lived connection that carries one CancelRequest and waits for the other side
/// (PostgreSQL, or a peer pooler) to close it, which it does once the request is processed. It goes through the
/// same engine as every other connection, so nothing outside <c>Transport/</c> opens a socket.
/// </summary>
internal static class CancelDialer
{
    /// <summary>Throws <see cref="SocketException"/> or <see cref="OperationCanceledException"/> when the request cannot be delivered.</summary>
    public static async Task SendAndAwaitCloseAsync(EndPoint endPoint, ReadOnlyMemory<byte> request, CancellationToken token)
    {
        if (endPoint is DnsEndPoint named)
        {
            var addresses = await Dns.GetHostAddressesAsync(named.Host, token).ConfigureAwait(false);
            if (addresses.Length == 0)
            {
                throw new SocketException((int)SocketError.HostNotFound);
            }
            endPoint = new IPEndPoint(addresses[0], named.Port);
        }
        var family = endPoint.AddressFamily;
        var socket = new Socket(family, SocketType.Stream, family == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        Connection connection;
        try
        {
            connection = await IoEngine.ConnectAsync(socket, endPoint, token).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        try
        {
            await connection.SendAsync(request, token).ConfigureAwait(false);
            await connection.ReceiveAsync(new byte[1], token).ConfigureAwait(false);
        }
        finally
        {
            connection.Close();
        }
    }
}
