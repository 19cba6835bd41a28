using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Sluice.Diagnostics;

/// <summary>syslog = 1: RFC 3164 datagrams to /dev/log with syslog_ident and syslog_facility, as PgBouncer writes them.</summary>
internal sealed class SyslogWriter : IDisposable
{
    private readonly Socket? _socket;
    private readonly string _ident;
    private readonly int _facility;

    public SyslogWriter(string ident, string facility)
    {
        _ident = string.IsNullOrEmpty(ident) ? "sluice" : ident;
        _facility = FacilityCode(facility);
        try
        {
            _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            _socket.Connect(new UnixDomainSocketEndPoint("/dev/log"));
        }
        catch (SocketException)
        {
            _socket?.Dispose();
            _socket = null;   // no syslog daemon: stderr and logfile still get every line
        }
    }

    public void Write(LogLevel level, string message)
    {
        if (_socket is null)
        {
            return;
        }
        var severity = level switch
        {
            LogLevel.Critical => 2,
            LogLevel.Error => 3,
            LogLevel.Warning => 4,
            LogLevel.Information => 6,
            _ => 7,
        };
        var line = $"<{_facility * 8 + severity}>{_ident}[{Environment.ProcessId}]: {PgBouncerLogFormatter.LevelName(level)} {message}";
        try
        {
            _socket.Send(Encoding.UTF8.GetBytes(line));
        }
        catch (SocketException)
        {
            // syslog went away; the other sinks still have the line.
        }
    }

    internal static int FacilityCode(string facility) => facility switch
    {
        "auth" => 4,
        "authpriv" => 10,
        "user" => 1,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        _ => 3,   // daemon
    };

    public void Dispose() => _socket?.Dispose();
}
