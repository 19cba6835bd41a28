using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sluice.Diagnostics;

namespace Sluice.Transport;

/// <summary>One listening socket (TCP address or Unix socket file) and its accept loop.</summary>
internal sealed class Listener : IDisposable
{
    private readonly Socket _socket;
    private readonly string? _unixPath;   // a socket file to delete at the end; null for TCP and abstract names
    private readonly Action<Socket, bool> _onAccepted;
    private readonly ILogger _logger;
    private int _disposed;

    private Listener(Socket socket, string description, bool isUnix, string? unixPath, Action<Socket, bool> onAccepted, ILogger logger)
    {
        _socket = socket;
        Description = description;
        IsUnix = isUnix;
        _unixPath = unixPath;
        _onAccepted = onAccepted;
        _logger = logger;
    }

    public string Description { get; }

    public EndPoint LocalEndPoint => _socket.LocalEndPoint!;

    /// <summary>
    /// A Unix socket, file or abstract (<c>@name</c>): its clients are local connections (HBA <c>local</c>
    /// rules, peer authentication, no TLS offered), whether or not there is a file to clean up.
    /// </summary>
    public bool IsUnix { get; }

    public static Listener BindTcp(IPEndPoint endPoint, int backlog, bool reusePort, Action<Socket, bool> onAccepted, ILogger logger)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // SO_REUSEADDR alone (restart while old connections linger in TIME_WAIT). .NET's ReuseAddress option
            // also sets SO_REUSEPORT on Linux, which would let a second pooler share the port silently.
            socket.SetRawSocketOption(1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, BitConverter.GetBytes(1));
            if (reusePort)
            {
                // SO_REUSEPORT = 15 on Linux; lets several processes share the port (rolling restarts).
                socket.SetRawSocketOption(1, 15, BitConverter.GetBytes(1));
            }
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }
            socket.Bind(endPoint);
            socket.Listen(backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        var text = bound.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{bound.Address}]:{bound.Port}" : $"{bound.Address}:{bound.Port}";
        return new Listener(socket, text, isUnix: false, unixPath: null, onAccepted, logger);
    }

    public static Listener BindUnix(string path, int mode, int backlog, Action<Socket, bool> onAccepted, ILogger logger)
    {
        var abstractName = path.StartsWith('\0');
        if (!abstractName && File.Exists(path))
        {
            if (IsInUse(path))
            {
                throw new IOException($"unix socket {path} is in use, cannot continue");
            }
            File.Delete(path);   // stale file of a process that did not clean up
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            socket.Listen(backlog);
            if (!abstractName && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, (UnixFileMode)mode);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var shown = abstractName ? "@" + path[1..] : path;   // as unix_socket_dir spells it, not with a NUL
        return new Listener(socket, "unix:" + shown, isUnix: true, unixPath: abstractName ? null : path, onAccepted, logger);
    }

    public void Start() => _ = AcceptLoopAsync();

    private async Task AcceptLoopAsync()
    {
        while (Volatile.Read(ref _disposed) == 0)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync(CancellationToken.None).ConfigureAwait(false);   // the ValueTask overload: no Task per accept
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (Volatile.Read(ref _disposed) == 0)
            {
                // EMFILE and friends: keep the listener alive, back off briefly.
                Log.ListenFailed(_logger, Description, e.Message);
                await Task.Delay(100).ConfigureAwait(false);
                continue;
            }
            catch (SocketException)
            {
                return;
            }
            _onAccepted(accepted, IsUnix);
        }
    }

    private static bool IsInUse(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _socket.Dispose();
        if (_unixPath is not null)
        {
            try
            {
                File.Delete(_unixPath);
            }
            catch (IOException)
            {
                // Someone else removed or replaced it; not ours to fight over.
            }
        }
    }
}
