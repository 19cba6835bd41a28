using System.Text;
using System.Text.RegularExpressions;
using Sluice.Config;

namespace Sluice.Fuzz;

/// <summary>
/// pgbouncer.ini text through ConfigLoader.LoadText: IniReader's tokenizer (sections, quoted keys, comments,
/// %include), every [pgbouncer] setting's validation and typed parse, [databases] (DatabaseEntry / ConnString),
/// [users], [peers]. Catches ConfigException only.
/// <para>
/// %include reads files: so that a fuzzed input never opens /dev/zero or a file outside the sandbox, the target
/// rewrites each %include line's path into a private temp directory (a plain file name is kept, anything else
/// points to a missing file). The directory holds a valid include, an invalid one, and one that includes itself.
/// </para>
/// </summary>
public sealed partial class IniConfigTarget : FuzzTarget
{
    private static readonly Lazy<string> IncludeDir = new(CreateIncludeDir);

    public override string Name => "pgbouncer-ini";

    public override string Covers => "ConfigLoader.LoadText: IniReader, settings validation, [databases]/[users]/[peers], %include";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var text = Sandbox(FuzzText.Decode(input));
        PoolerConfig config;
        try
        {
            config = ConfigLoader.LoadText(text, "fuzz.ini");
        }
        catch (ConfigException)
        {
            return;
        }
        foreach (var (name, db) in config.Databases)
        {
            Check(name == db.Name && !db.IsFallback, "database keyed by another name");
            _ = config.ResolvePoolSize(db, null);
            _ = config.ResolveServerLifetime(db);
        }
        Check(config.FallbackDatabase is null or { IsFallback: true }, "fallback database is not '*'");
        foreach (var (name, user) in config.Users)
        {
            _ = config.ResolvePoolMode(null, user);
            _ = name;
        }
    }

    /// <summary>Keeps line numbers: only the path of a %include line changes.</summary>
    private static string Sandbox(string text)
    {
        if (!text.Contains("%include", StringComparison.Ordinal))
        {
            return text;
        }
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].Trim();
            if (trimmed.Length > "%include".Length && trimmed.StartsWith("%include", StringComparison.Ordinal)
                && char.IsWhiteSpace(trimmed["%include".Length]))
            {
                var path = trimmed["%include".Length..].Trim();
                var name = SafeName().IsMatch(path) ? path : "missing.ini";
                lines[i] = "%include " + Path.Combine(IncludeDir.Value, name);
            }
        }
        return string.Join('\n', lines);
    }

    [GeneratedRegex("^[A-Za-z0-9_-][A-Za-z0-9._-]{0,40}$")]
    private static partial Regex SafeName();

    private static string CreateIncludeDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sluice-fuzz-ini-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "databases.ini"), "[databases]\nincluded = host=127.0.0.1 port=6000 dbname=app\n", Encoding.UTF8);
        File.WriteAllText(Path.Combine(dir, "settings.ini"), "[pgbouncer]\npool_mode = transaction\nmax_client_conn = 50\n", Encoding.UTF8);
        File.WriteAllText(Path.Combine(dir, "bad.ini"), "[nosuchsection]\n", Encoding.UTF8);
        File.WriteAllText(Path.Combine(dir, "loop.ini"), $"%include {Path.Combine(dir, "loop.ini")}\n", Encoding.UTF8);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return dir;
    }
}
