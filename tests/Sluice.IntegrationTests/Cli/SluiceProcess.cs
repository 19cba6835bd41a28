using Sluice.Testing;

namespace Sluice.IntegrationTests.Cli;

/// <summary>Locates the published sluice binary in a place the unprivileged user can execute.</summary>
internal static class SluiceProcess
{
    /// <summary>The pid of sluice itself: the child of the runuser wrapper when started as another user.</summary>
    public static int MainPid(BackgroundProcess process)
    {
        if (UnprivilegedUser.Name is null)
        {
            return process.Pid;
        }
        var children = File.ReadAllText($"/proc/{process.Pid}/task/{process.Pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(children);
        return int.Parse(children[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The sluice executable for <see cref="UnprivilegedUser.Name"/>: <see cref="SluiceBinary.LocateForUnprivilegedUser"/>,
    /// or, when that user cannot execute it, a copy of its directory inside <paramref name="scratch"/>.
    /// </summary>
    public static async Task<string> LocateAsync(TempDirectory scratch)
    {
        var bin = SluiceBinary.LocateForUnprivilegedUser();
        if (await UnprivilegedUser.CanAccessAsync(bin, "-x"))
        {
            return bin;
        }
        var copy = scratch.File("bin");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(bin)!))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }
        await ProcessRunner.RunAsync("chmod", ["-R", "a+rX", copy], TimeSpan.FromSeconds(10));
        await UnprivilegedUser.ChownAsync(copy, recursive: true);
        return Path.Combine(copy, Path.GetFileName(bin));
    }
}
