using Microsoft.Extensions.Logging;

namespace Sluice.Diagnostics;

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

        Assert.False(File.Exists(missing));
        Assert.Contains("after the failed open", ReadShared(good));
    }

    [Fact]
    public void AReloadToAnUnopenablePath_KeepsTheOpenFile_AndSaysWhyInIt()
    {
        var first = Path.Combine(_dir, "first.log");
        using var provider = new TextLoggerProvider(LogLevel.Information, writeToStderr: false, first);

        provider.ReopenFile(_dir);   // a directory: cannot be opened as a file, even by root
        provider.CreateLogger("Sluice").LogInformation("still logging");

        var text = ReadShared(first);
        Assert.Contains($"cannot open logfile \"{_dir}\"", text);
        Assert.Contains("WARNING", text);
        Assert.Contains("still logging", text);
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }
}
