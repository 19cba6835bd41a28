using System.Text.RegularExpressions;
using Sluice.Config;

namespace Sluice.Config.Tests;

public class SettingSupportTests
{
    [Fact]
    public void EverySettingHasAStatus()
    {
        var missing = SettingsTable.All.Select(s => s.Name).Where(n => !SettingSupport.All.ContainsKey(n)).ToList();
        Assert.Empty(missing);
        var unknown = SettingSupport.All.Keys.Where(n => SettingsTable.Find(n) is null).ToList();
        Assert.Empty(unknown);
    }

    [Fact]
    public void CompatibilityDocListsEverySettingWithItsStatus()
    {
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "compatibility.md"));
        var rows = Regex.Matches(doc, @"^\| `([a-z0-9_]+)` \| ([a-z ]+) \|", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim());
        foreach (var (name, (level, _)) in SettingSupport.All)
        {
            Assert.True(rows.TryGetValue(name, out var status), $"docs/compatibility.md has no row for {name}");
            var expected = level switch
            {
                SupportLevel.Implemented => "implemented",
                SupportLevel.AcceptedOnly => "accepted only",
                _ => "not planned",
            };
            Assert.Equal(expected, status);
        }
    }

    [Fact]
    public void AcceptedOnlySettingsThatAreSetAreReported()
    {
        var config = ConfigLoader.LoadText("[pgbouncer]\npool_idle_timeout = 30\nlisten_port = 7000\nlog_stats = 1\n");
        var warnings = SettingSupport.UnsupportedButSet(config).ToList();
        Assert.Single(warnings);
        Assert.Contains("pool_idle_timeout", warnings[0]);
    }

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
