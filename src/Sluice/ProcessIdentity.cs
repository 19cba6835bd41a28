using System.Runtime.InteropServices;

namespace Sluice.Cli;

/// <summary>setuid/setgid for <c>-u USER</c> and <c>user =</c>, as PgBouncer does before it listens.</summary>
internal static partial class ProcessIdentity
{
    public static bool IsRoot => geteuid() == 0;

    public static bool TrySwitchTo(string user, out string? error)
    {
        error = null;
        if (!IsRoot)
        {
            // Only root can change identity; PgBouncer also ignores the setting otherwise.
            return true;
        }
        var passwd = getpwnam(user);
        if (passwd == IntPtr.Zero)
        {
            error = "no such user";
            return false;
        }
        var entry = Marshal.PtrToStructure<Passwd>(passwd);
        if (setgid(entry.Gid) != 0 || setuid(entry.Uid) != 0)
        {
            error = $"setuid/setgid failed (errno {Marshal.GetLastPInvokeError()})";
            return false;
        }
        return true;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Passwd
    {
        public IntPtr Name;
        public IntPtr Password;
        public uint Uid;
        public uint Gid;
        public IntPtr Gecos;
        public IntPtr Dir;
        public IntPtr Shell;
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getpwnam(string name);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setuid(uint uid);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setgid(uint gid);

    [LibraryImport("libc")]
    private static partial uint geteuid();
}
