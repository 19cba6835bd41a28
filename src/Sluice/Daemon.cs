using System.Diagnostics;

namespace Sluice.Cli;

/// <summary>
/// -d: detach into the background like PgBouncer's double fork. .NET cannot fork safely, so Sluice starts
/// itself again in a new session (setsid) with stdio on /dev/null, waits until the child wrote its pidfile,
/// and exits.
/// </summary>
internal static class Daemon
{
    public const string ChildMarker = "SLUICE_DAEMON_CHILD";

    public static bool IsChild => Environment.GetEnvironmentVariable(ChildMarker) == "1";

    public static int Detach(IReadOnlyList<string> args, string pidfile)
    {
        var self = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec setsid \"$@\" </dev/null >/dev/null 2>&1 &");
        start.ArgumentList.Add("sh");
        start.ArgumentList.Add(self);
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(Environment.GetCommandLineArgs()[0]);
        }
        foreach (var arg in args)
        {
            if (arg != "-d" && arg != "--daemon")
            {
                start.ArgumentList.Add(arg);
            }
        }
        start.Environment[ChildMarker] = "1";
        using (var shell = Process.Start(start)!)
        {
            shell.WaitForExit();
        }
        // The child writes the pidfile once it listens; a missing file means it failed to start.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(pidfile) && new FileInfo(pidfile).Length > 0)
            {
                return 0;
            }
            Thread.Sleep(50);
        }
        Console.Error.WriteLine("sluice: the background process did not start (no pidfile written); check logfile or syslog");
        return 1;
    }
}
