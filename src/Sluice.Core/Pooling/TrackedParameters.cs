using System.Runtime.InteropServices;

namespace Sluice.Pooling;

/// <summary>
/// The parameters PgBouncer keeps per client and re-applies with SET when a client is given a server
/// whose values differ (its "varcache"), so every client sees its own settings in transaction pooling.
/// </summary>
internal sealed class TrackedParameters
{
    private static readonly string[] AlwaysTracked =
        ["client_encoding", "DateStyle", "TimeZone", "standard_conforming_strings", "application_name"];

    public TrackedParameters(IReadOnlyList<string> extra)
    {
        var names = new List<string>(AlwaysTracked);
        foreach (var name in extra)
        {
            var trimmed = name.Trim();
            if (trimmed.Length > 0 && IndexOf(CollectionsMarshal.AsSpan(names), trimmed) < 0)
            {
                names.Add(trimmed);
            }
        }
        Names = [.. names];
    }

    /// <summary>Names as written in the config; that spelling is what SET and ParameterStatus use.</summary>
    public string[] Names { get; }

    public int Count => Names.Length;

    /// <summary>Case-insensitive, as PostgreSQL treats GUC names.</summary>
    public int IndexOf(string name) => IndexOf(Names, name);

    public string?[] NewValues() => new string?[Names.Length];

    private static int IndexOf(ReadOnlySpan<string> names, string name)
    {
        for (var i = 0; i < names.Length; i++)
        {
            if (string.Equals(names[i], name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return -1;
    }
}
