namespace Sluice.Admin;

/// <summary>
/// A parsed console command: <c>WORD [WORD] [;]</c> (a word is <c>[0-9a-z_]+</c> case-insensitively, or a
/// double-quoted string) or <c>SET key (=|TO) value|'string'</c>. <see cref="Verb"/> is upper-cased;
/// <see cref="Argument"/> keeps its spelling (it names a database or a SHOW subject).
/// </summary>
internal sealed record AdminCommand(string Text, string Verb, string? Argument, string? SetKey = null, string? SetValue = null)
{
    public bool IsSet => SetKey is not null;
}

/// <summary>Hand-written parser for the console's small grammar (pgbouncer.md §3.1).</summary>
internal static class AdminCommandParser
{
    /// <summary>Returns null when the text is not a well-formed console command.</summary>
    public static AdminCommand? Parse(string text)
    {
        var pos = 0;
        SkipSpace(text, ref pos);
        var verb = ReadWord(text, ref pos, allowQuoted: false);
        if (verb is null)
        {
            return null;
        }
        verb = verb.ToUpperInvariant();
        if (verb == "SET")
        {
            return ParseSet(text, pos);
        }

        string? argument = null;
        var afterVerb = pos;
        SkipSpace(text, ref pos);
        if (pos > afterVerb && pos < text.Length && text[pos] != ';')
        {
            argument = ReadWord(text, ref pos, allowQuoted: true);
            if (argument is null)
            {
                return null;
            }
        }
        if (!AtEnd(text, ref pos))
        {
            return null;
        }
        // SELECT x is a synonym of SHOW x.
        if (verb == "SELECT")
        {
            verb = "SHOW";
        }
        return new AdminCommand(text, verb, argument);
    }

    private static AdminCommand? ParseSet(string text, int pos)
    {
        if (!SkipSpace(text, ref pos))
        {
            return null;
        }
        var key = ReadWord(text, ref pos, allowQuoted: false);
        if (key is null)
        {
            return null;
        }
        SkipSpace(text, ref pos);
        if (pos < text.Length && text[pos] == '=')
        {
            pos++;
        }
        else if (pos + 2 <= text.Length && string.Compare(text, pos, "TO", 0, 2, StringComparison.OrdinalIgnoreCase) == 0
                 && (pos + 2 == text.Length || char.IsWhiteSpace(text[pos + 2]) || text[pos + 2] == '\''))
        {
            pos += 2;
        }
        else
        {
            return null;
        }
        SkipSpace(text, ref pos);
        string? value;
        if (pos < text.Length && text[pos] == '\'')
        {
            value = ReadQuoted(text, ref pos, '\'');
        }
        else
        {
            value = ReadWord(text, ref pos, allowQuoted: false);
        }
        if (value is null || !AtEnd(text, ref pos))
        {
            return null;
        }
        return new AdminCommand(text, "SET", null, key, value);
    }

    private static bool AtEnd(string text, ref int pos)
    {
        SkipSpace(text, ref pos);
        if (pos < text.Length && text[pos] == ';')
        {
            pos++;
            SkipSpace(text, ref pos);
        }
        return pos == text.Length;
    }

    private static bool SkipSpace(string text, ref int pos)
    {
        var start = pos;
        while (pos < text.Length && char.IsWhiteSpace(text[pos]))
        {
            pos++;
        }
        return pos > start;
    }

    private static string? ReadWord(string text, ref int pos, bool allowQuoted)
    {
        if (allowQuoted && pos < text.Length && text[pos] == '"')
        {
            return ReadQuoted(text, ref pos, '"');
        }
        var start = pos;
        while (pos < text.Length && IsWordChar(text[pos]))
        {
            pos++;
        }
        return pos > start ? text[start..pos] : null;
    }

    /// <summary>A quoted string; a doubled quote stands for one quote character.</summary>
    private static string? ReadQuoted(string text, ref int pos, char quote)
    {
        var sb = new System.Text.StringBuilder();
        pos++;
        while (pos < text.Length)
        {
            var c = text[pos++];
            if (c != quote)
            {
                sb.Append(c);
                continue;
            }
            if (pos < text.Length && text[pos] == quote)
            {
                sb.Append(quote);
                pos++;
                continue;
            }
            return sb.ToString();
        }
        return null;   // unterminated
    }

    private static bool IsWordChar(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_';
}
