using System.Net.Sockets;

namespace Sluice.Transport;

/// <summary>Socket setup shared by client and server connections.</summary>
internal static class SocketExtensions
{
    public static void ConfigureTcp(this Socket socket, bool keepalive)
    {
        if (socket.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
        {
            socket.NoDelay = true;
            if (keepalive)
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            }
        }
    }

    /// <summary>Closes without throwing: every dying connection goes through here exactly once.</summary>
    public static void CloseQuietly(this Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already reset by the peer; closing is all that is left.
        }
        socket.Dispose();
    }
}
