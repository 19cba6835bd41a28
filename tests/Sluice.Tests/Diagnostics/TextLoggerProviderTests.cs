using Microsoft.Extensions.Logging;

namespace Sluice.Diagnostics;

// The failures are provoked with paths that no one can open as a file (a missing directory, a directory), not
// with permissions, because the tests may run as root.
public sealed class TextLoggerProviderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sluice-log-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ALogfileThatCannotBeOpenedAtStart_IsSkipped_AndTheProviderKeepsWorking()
    {
        var missing = Path.Combine(_dir, "no-such-dir", "sluice.log");

        using var provider = new TextLoggerProvider(LogLevel.Information, writeToStderr: false, missing);
        var good = Path.Combine(_dir, "good.log");
        provider.ReopenFile(good);
        provider.CreateLogger("Sluice").LogInformation("after the failed open");

        Assert.False(Directory.Exists(Path.GetDirectoryName(missing)));
        Assert.Contains("after the failed open", ReadShared(good));
    }

    [Theory]
    [InlineData("no-such-dir/sluice.log")]
    [InlineData("")]
    public void AReloadToAnUnopenablePath_KeepsTheOpenFile_AndSaysWhyInIt(string relative)
    {
        // "" is the temp directory itself: a directory cannot be opened as a file, even by root.
        var unopenable = relative.Length == 0 ? _dir : Path.Combine(_dir, relative);
        var first = Path.Combine(_dir, "first.log");
        using var provider = new TextLoggerProvider(LogLevel.Information, writeToStderr: false, first);

        provider.ReopenFile(unopenable);
        provider.CreateLogger("Sluice").LogInformation("still logging");

        var lines = ReadShared(first).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var warning = Assert.Single(lines, l => l.Contains($"cannot open logfile \"{unopenable}\": "));
        Assert.Contains("WARNING", warning);
        Assert.Contains(lines, l => l.Contains("still logging"));
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }
}
