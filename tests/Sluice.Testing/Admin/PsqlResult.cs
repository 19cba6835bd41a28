namespace Sluice.Testing.Admin;

/// <summary>psql -A output split into header and rows.</summary>
public sealed record PsqlResult(int ExitCode, string StdOut, string StdErr)
{
    public bool Success => ExitCode == 0;

    private string[] Lines => StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public string[] Header => Lines.Length == 0 ? [] : Lines[0].Split('|');

    public string[][] Rows => [.. Lines.Skip(1).Select(l => l.Split('|'))];

    /// <summary>The rows as dictionaries keyed by column name.</summary>
    public List<Dictionary<string, string>> Records()
    {
        var header = Header;
        return [.. Rows.Select(r => header.Select((h, i) => (h, v: i < r.Length ? r[i] : "")).ToDictionary(p => p.h, p => p.v))];
    }

    public override string ToString() => $"exit={ExitCode}\n{StdOut}\n{StdErr}";
}
