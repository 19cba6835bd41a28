namespace Sluice.Config;

/// <summary>A throw-away directory for config files that %include each other.</summary>
internal sealed class TempConfigDir : IDisposable
{
    public TempConfigDir() => Path = Directory.CreateTempSubdirectory("sluice-config-").FullName;

    public string Path { get; }

    public string Write(string name, string text)
    {
        var file = System.IO.Path.Combine(Path, name);
        File.WriteAllText(file, text);
        return file;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
