using Sluice.Fuzz;

namespace Sluice.Fuzz.Tests;

/// <summary>
/// Replays the committed fuzz corpus (tests/Sluice.Fuzz/corpus/TARGET/) through the fuzz targets in-process, without
/// AFL or SharpFuzz: every seed and every regression input must run without an unexpected exception or a failed
/// invariant. Files named crash-* are open findings (a bug not fixed yet, see docs/fuzzing.md): they are expected to
/// still fail, and the test says so when one stops failing so that it is renamed regression-* and replayed from then on.
/// </summary>
public class CorpusReplayTests
{
    public static TheoryData<string> Targets()
    {
        var data = new TheoryData<string>();
        foreach (var target in FuzzTargets.All)
        {
            data.Add(target.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void CorpusReplaysCleanly(string name)
    {
        var target = FuzzTargets.Find(name)!;
        var dir = CorpusDir(name);
        Assert.True(Directory.Exists(dir), $"no corpus directory {dir}");
        var count = CorpusReplay.Run(target, dir, includeOpenFindings: false);
        Assert.True(count >= 3, $"{name}: only {count} seed inputs in {dir}");
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void OpenFindingsStillFail(string name)
    {
        var target = FuzzTargets.Find(name)!;
        foreach (var file in Directory.GetFiles(CorpusDir(name), "crash-*"))
        {
            var failed = false;
            try
            {
                target.Run(File.ReadAllBytes(file));
            }
            catch (Exception)
            {
                failed = true;
            }
            Assert.True(failed, $"{file} no longer fails: rename it to regression-{Path.GetFileName(file)["crash-".Length..]} so the corpus replay keeps checking it");
        }
    }

    [Fact]
    public void EveryCorpusDirectoryHasATarget()
    {
        var names = FuzzTargets.All.Select(t => t.Name).ToHashSet();
        var dirs = Directory.GetDirectories(Path.Combine(RepoRoot(), "tests", "Sluice.Fuzz", "corpus")).Select(Path.GetFileName);
        Assert.All(dirs, d => Assert.Contains(d!, names));
    }

    private static string CorpusDir(string name) => Path.Combine(RepoRoot(), "tests", "Sluice.Fuzz", "corpus", name);

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sluice.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
