namespace Sluice.Config;

/// <summary>
/// Tokenises pgbouncer.ini like PgBouncer's libusual parser: <c>;</c>/<c>#</c> comment lines, <c>[section]</c>,
/// <c>key = rest of line</c> (no inline comments, so values may contain <c>;</c>), double-quoted keys for odd
/// database names, and <c>%include</c>, whose relative paths resolve against the working directory.
/// </summary>
internal static class IniReader
{
    public const int MaxIncludeDepth = 10;

    public static IReadOnlyList<IniEntry> ReadFile(string path)
    {
        var entries = new List<IniEntry>();
        ReadInto(entries, ReadAllText(path, includer: null, line: 0), path, depth: 0);
        return entries;
    }

    public static IReadOnlyList<IniEntry> ReadText(string text, string fileName)
    {
        var entries = new List<IniEntry>();
        ReadInto(entries, text, fileName, depth: 0);
        return entries;
    }

    private static void ReadInto(List<IniEntry> entries, string text, string file, int depth)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var lineNo = i + 1;
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] is ';' or '#')
            {
                continue;
            }

            if (line[0] == '[')
            {
                entries.Add(ReadSection(line, file, lineNo));
            }
            else if (IsInclude(line))
            {
                Include(entries, line["%include".Length..].Trim(), file, lineNo, depth);
            }
            else
            {
                entries.Add(ReadKeyValue(line, file, lineNo));
            }
        }
    }

    private static bool IsInclude(string line) =>
        line.StartsWith("%include", StringComparison.Ordinal)
        && line.Length > "%include".Length
        && char.IsWhiteSpace(line["%include".Length]);

    private static void Include(List<IniEntry> entries, string path, string file, int line, int depth)
    {
        if (path.Length == 0)
        {
            throw new ConfigException("%include needs a file name", file, line);
        }

        if (depth + 1 > MaxIncludeDepth)
        {
            throw new ConfigException($"%include nested too deeply (more than {MaxIncludeDepth} levels): {path}", file, line);
        }

        ReadInto(entries, ReadAllText(path, file, line), path, depth + 1);
    }

    private static string ReadAllText(string path, string? includer, int line)
    {
        try
        {
            return System.IO.File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var detail = $"cannot read config file \"{path}\": {e.Message}";
            throw includer is null ? new ConfigException(detail, path) : new ConfigException(detail, includer, line);
        }
    }

    private static IniEntry ReadSection(string line, string file, int lineNo)
    {
        var close = line.IndexOf(']', StringComparison.Ordinal);
        var rest = close < 0 ? "" : line[(close + 1)..].TrimStart();
        if (close < 0 || (rest.Length > 0 && rest[0] is not (';' or '#')))
        {
            throw new ConfigException("syntax error in configuration: bad section header", file, lineNo);
        }

        return new IniEntry(line[1..close], null, file, lineNo);
    }

    private static IniEntry ReadKeyValue(string line, string file, int lineNo)
    {
        int pos;
        string key;
        var quoted = line[0] == '"';
        if (quoted)
        {
            key = ReadQuotedKey(line, file, lineNo, out pos);
        }
        else
        {
            pos = 0;
            while (pos < line.Length && IsKeyChar(line[pos]))
            {
                pos++;
            }

            key = line[..pos];
        }

        while (pos < line.Length && line[pos] is ' ' or '\t')
        {
            pos++;
        }

        if (key.Length == 0 || pos >= line.Length || line[pos] != '=')
        {
            throw new ConfigException("syntax error in configuration: expected \"key = value\"", file, lineNo);
        }

        return new IniEntry(key, line[(pos + 1)..].Trim(), file, lineNo, quoted);
    }

    private static string ReadQuotedKey(string line, string file, int lineNo, out int pos)
    {
        var key = new System.Text.StringBuilder();
        pos = 1;
        while (pos < line.Length)
        {
            var c = line[pos++];
            if (c != '"')
            {
                key.Append(c);
            }
            else if (pos < line.Length && line[pos] == '"')
            {
                key.Append('"');
                pos++;
            }
            else
            {
                return key.ToString();
            }
        }

        throw new ConfigException("syntax error in configuration: unterminated quoted name", file, lineNo);
    }

    private static bool IsKeyChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' or '*';
}
