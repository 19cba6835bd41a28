using System.Net.Sockets;
using Sluice.Config;

namespace Sluice.Transport;

/// <summary>Socket setup shared by client and server connections.</summary>
internal static class SocketExtensions
{
    private const int IpProtoTcp = 6;
    private const int TcpUserTimeoutOption = 18;   // TCP_USER_TIMEOUT (Linux)

    /// <summary>TCP_NODELAY plus PgBouncer's tcp_keepalive, tcp_keepcnt/idle/intvl, tcp_user_timeout and tcp_socket_buffer.</summary>
    public static void ConfigureTcp(this Socket socket, PoolerConfig config)
    {
        if (socket.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            return;
        }
        socket.NoDelay = true;
        if (config.TcpKeepalive)
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            if (config.TcpKeepidle > 0)
            {
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, config.TcpKeepidle);
            }
            if (config.TcpKeepintvl > 0)
            {
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, config.TcpKeepintvl);
            }
            if (config.TcpKeepcnt > 0)
            {
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, config.TcpKeepcnt);
            }
        }
        if (config.TcpUserTimeout > 0 && OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(IpProtoTcp, TcpUserTimeoutOption, BitConverter.GetBytes(config.TcpUserTimeout));
        }
        if (config.TcpSocketBuffer > 0)
        {
            socket.SendBufferSize = config.TcpSocketBuffer;
            socket.ReceiveBufferSize = config.TcpSocketBuffer;
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
