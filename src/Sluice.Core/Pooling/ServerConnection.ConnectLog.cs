using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sluice.Diagnostics;

namespace Sluice.Pooling;

internal sealed partial class ServerConnection
{
    private const string DnsLookupFailed = "server DNS lookup failed";

    /// <summary>A host name that does not resolve, as opposed to a host that does not answer.</summary>
    private static bool IsLookupFailure(SocketException e) =>
        e.SocketErrorCode is SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData;

    /// <summary>log_connections: PgBouncer's line, with the local address for TCP (which host-list entry was used shows in the prefix).</summary>
    private static void LogNewConnection(ServerConnection server, Socket socket, ILogger logger)
    {
        if (socket.LocalEndPoint is IPEndPoint local)
        {
            var from = local.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{local.Address}]:{local.Port}" : $"{local.Address}:{local.Port}";
            Log.ServerNewConnectionFrom(logger, server.Peer, from);
        }
        else
        {
            Log.ServerNewConnection(logger, server.Peer);
        }
    }
}
