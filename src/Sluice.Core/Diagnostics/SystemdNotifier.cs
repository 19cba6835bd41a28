using System.Net.Sockets;
using System.Text;

namespace Sluice.Diagnostics;

/// <summary>sd_notify for systemd Type=notify / notify-reload units: READY=1, RELOADING=1, STOPPING=1, STATUS=….</summary>
public static class SystemdNotifier
{
    public static bool Notify(string state)
    {
        var path = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(path))
        {
            return false;
        }
        // A leading '@' names a socket in the abstract namespace.
        if (path[0] == '@')
        {
            path = "\0" + path[1..];
        }
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send(Encoding.UTF8.GetBytes(state));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
