namespace Sluice.Fuzz;

/// <summary>Runs every file of a corpus directory through a target once, without AFL.</summary>
public static class CorpusReplay
{
    /// <summary>Prefix of a kept crashing input whose bug is not fixed yet (an "open finding").</summary>
    public const string OpenFindingPrefix = "crash-";

    /// <summary>
    /// Replays the files in name order. Returns the number of files run; the first failure is rethrown as a
    /// <see cref="CorpusReplayException"/> naming the file, with the original exception inside.
    /// <paramref name="includeOpenFindings"/> = false skips crash-* files (the unit test checks them separately).
    /// </summary>
    public static int Run(FuzzTarget target, string directory, bool includeOpenFindings = true)
    {
        var files = Directory.GetFiles(directory)
            .Where(f => includeOpenFindings || !Path.GetFileName(f).StartsWith(OpenFindingPrefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
        foreach (var file in files)
        {
            try
            {
                target.Run(File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                throw new CorpusReplayException(file, e);
            }
        }
        return files.Length;
    }
}

public sealed class CorpusReplayException(string file, Exception inner)
    : Exception($"{file}: {inner.GetType().Name}: {inner.Message}", inner)
{
    public string File { get; } = file;
}
