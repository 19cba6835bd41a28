using System.Runtime.InteropServices;

namespace Sluice.Cli;

/// <summary>
/// A shell without job control starts a background command with SIGINT and SIGQUIT ignored (nohup does the same to
/// SIGHUP), and .NET never catches a stop signal that was ignored at start, so neither the fast exit (SIGQUIT) nor
/// the drains (SIGINT, SIGTERM) would ever run. PgBouncer catches its signals whatever it inherited; so does Sluice,
/// by putting the ones it handles back to their default action before the runtime's signal handling starts.
/// </summary>
internal static partial class InheritedSignalDispositions
{
    // Linux numbers (the only platform Sluice is built for); SignalHandler catches each of them.
    private static ReadOnlySpan<int> Handled => [1 /* HUP */, 2 /* INT */, 3 /* QUIT */, 10 /* USR1 */, 12 /* USR2 */, 15 /* TERM */];
    private static readonly IntPtr SigDfl = 0;
    private static readonly IntPtr SigIgn = 1;

    public static void UnignoreHandledSignals()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        foreach (var signal in Handled)
        {
            if (IsIgnored(signal))
            {
                _ = SetHandler(signal, SigDfl);
            }
        }
    }

    /// <summary>The handler is the first field of struct sigaction on every libc Sluice runs on; the buffer is bigger than the struct.</summary>
    private static unsafe bool IsIgnored(int signal)
    {
        var current = stackalloc byte[512];
        return sigaction(signal, null, current) == 0 && *(IntPtr*)current == SigIgn;
    }

    [LibraryImport("libc")]
    private static unsafe partial int sigaction(int signum, byte* act, byte* oldact);

    /// <summary>signal(2): enough to restore the default action, which needs no flags or mask.</summary>
    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial IntPtr SetHandler(int signum, IntPtr handler);
}
