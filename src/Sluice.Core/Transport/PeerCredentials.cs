using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Sluice.Transport;

/// <summary>SO_PEERCRED on a Unix socket: who is on the other end (peer auth, the admin shortcut, SHOW CLIENTS remote_pid).</summary>
internal static partial class PeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    public static bool TryGet(Socket socket, out int pid, out uint uid, out uint gid)
    {
        pid = 0;
        uid = gid = uint.MaxValue;
        if (socket.AddressFamily != AddressFamily.Unix || !OperatingSystem.IsLinux())
        {
            return false;
        }
        Span<byte> cred = stackalloc byte[12];   // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        try
        {
            var length = socket.GetRawSocketOption(SolSocket, SoPeerCred, cred);
            if (length < 12)
            {
                return false;
            }
        }
        catch (SocketException)
        {
            return false;
        }
        pid = MemoryMarshal.Read<int>(cred);
        uid = MemoryMarshal.Read<uint>(cred[4..]);
        gid = MemoryMarshal.Read<uint>(cred[8..]);
        return true;
    }

    /// <summary>The OS user name of a uid (getpwuid), or null.</summary>
    public static string? UserName(uint uid)
    {
        var entry = getpwuid(uid);
        return entry == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(entry));
    }

    [LibraryImport("libc")]
    private static partial IntPtr getpwuid(uint uid);

    public static bool IsSameUser(Socket socket) => TryGet(socket, out _, out var uid, out _) && uid == geteuid();

    [LibraryImport("libc")]
    private static partial uint geteuid();
}
