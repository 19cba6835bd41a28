using System.Net;
using System.Net.Sockets;
using Sluice.Transport.Epoll;

namespace Sluice.Transport;

/// <summary>
/// Which engine drives plain sockets: Sluice's own event loops (<c>epoll</c>, the default on Linux) or .NET's
/// socket engine (<c>sockets</c>, the fallback), chosen once per process by <c>SLUICE_IO_ENGINE</c>. TLS
/// connections always run on .NET's engine through SslStream. Everything above this boundary sees only
/// <see cref="Connection"/>.
/// </summary>
internal static class IoEngine
{
    public const string EnvironmentVariable = "SLUICE_IO_ENGINE";

    public static bool UsesEventLoops { get; } = Choose(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>Wraps an accepted or connected socket.</summary>
    public static Connection Adopt(Socket socket) =>
        UsesEventLoops ? EventLoopGroup.Shared.Adopt(socket) : new SocketConnection(socket);

    /// <summary>
    /// Connects a new socket to PostgreSQL and wraps it. On the event loops the connect is a non-blocking
    /// <c>connect</c> whose completion is the socket's first writable edge, so the socket never touches .NET's engine.
    /// </summary>
    public static async ValueTask<Connection> ConnectAsync(Socket socket, EndPoint endPoint, CancellationToken token)
    {
        if (!UsesEventLoops)
        {
            await socket.ConnectAsync(endPoint, token).ConfigureAwait(false);
            return new SocketConnection(socket);
        }
        var connection = EventLoopGroup.Shared.Adopt(socket);
        connection.WatchConnect();
        try
        {
            await ConnectNonBlockingAsync(connection, socket, endPoint, token).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            connection.Close();
            throw;
        }
    }

    private static async ValueTask ConnectNonBlockingAsync(EpollConnection connection, Socket socket, EndPoint endPoint, CancellationToken token)
    {
        while (true)
        {
            try
            {
                socket.Connect(endPoint);
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                if (socket.AddressFamily != AddressFamily.Unix)
                {
                    break;
                }
                // A Unix socket refuses with EAGAIN while its listen backlog is full; the connect has to be tried
                // again, it never completes by itself.
                await Task.Delay(10, token).ConfigureAwait(false);
            }
        }
        // The connect is under way. An edge is only a hint (a socket not yet connected reports a hang-up too), so
        // each wake-up asks the socket itself; the flag is cleared before asking, so no edge is lost in between.
        while (true)
        {
            connection.BeforeConnectCheck();
            // .NET already translates SO_ERROR's errno into a SocketError number.
            var error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
            if (error != 0)
            {
                throw new SocketException(error);
            }
            if (socket.Connected)   // polls the socket for the finished connect, so RemoteEndPoint and friends work
            {
                return;
            }
            await connection.WaitForConnectAsync(token).ConfigureAwait(false);
        }
    }

    private static bool Choose(string? setting) => setting?.Trim().ToLowerInvariant() switch
    {
        "sockets" => false,
        "epoll" => true,
        _ => OperatingSystem.IsLinux(),
    };
}
