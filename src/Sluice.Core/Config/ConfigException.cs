namespace Sluice.Config;

/// <summary>
/// A configuration error, worded "<c>file:line: key: problem</c>" so an operator can jump straight to
/// the offending line; parts that do not apply are left out.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string detail, string? file = null, int line = 0, string? key = null)
        : base(Format(detail, file, line, key))
    {
        Detail = detail;
        File = file;
        Line = line;
        Key = key;
    }

    /// <summary>The problem alone, without location.</summary>
    public string Detail { get; }

    public string? File { get; }

    /// <summary>1-based line in <see cref="File"/>; 0 when the error is not tied to a line.</summary>
    public int Line { get; }

    public string? Key { get; }

    /// <summary>Adds the location to an error raised by code that only saw a value (connection strings).</summary>
    internal ConfigException At(string file, int line) =>
        File is null ? new ConfigException(Detail, file, line, Key) : this;

    private static string Format(string detail, string? file, int line, string? key)
    {
        var prefix = file is null ? "" : line > 0 ? $"{file}:{line}: " : $"{file}: ";
        return key is null ? prefix + detail : $"{prefix}{key}: {detail}";
    }
}
