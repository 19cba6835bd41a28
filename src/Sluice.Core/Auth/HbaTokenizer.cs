using System.Text;

namespace Sluice.Auth;

internal enum HbaTokenKind
{
    /// <summary>An unquoted word; only words can be keywords (<c>all</c>, <c>sameuser</c>, …).</summary>
    Word,

    /// <summary>A double-quoted string (<c>""</c> inside is a quote); always a literal name.</summary>
    Quoted,

    /// <summary>A list separator.</summary>
    Comma,
}

internal readonly record struct HbaToken(HbaTokenKind Kind, string Text)
{
    public bool IsWord(string keyword) => Kind == HbaTokenKind.Word && string.Equals(Text, keyword, StringComparison.Ordinal);

    public string Describe() => Kind switch
    {
        HbaTokenKind.Comma => "','",
        HbaTokenKind.Quoted => "\"" + Text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"",
        _ => "'" + Text + "'",
    };
}

/// <summary>A syntax problem on one logical line; the caller prefixes "file:line: ".</summary>
internal sealed class HbaSyntaxException(string message) : Exception(message);

/// <summary>
/// Shared lexer for auth_hba_file, @-included name files and auth_ident_file, following
/// PgBouncer's hba.c tokenizer: whitespace separates tokens; ',' is its own token; '#' outside
/// quotes starts a comment; a word ends at whitespace, ',', '#' or '"'; a quoted string keeps
/// everything up to the closing quote with <c>""</c> as an escaped quote. Unlike PgBouncer a
/// quote glued to a word (<c>a"b"</c>) is an error rather than silently two tokens, and a line
/// ending in a backslash (outside a comment) continues on the next line (as in PostgreSQL 16+).
/// </summary>
internal static class HbaTokenizer
{
    /// <summary>Splits text into logical lines (backslash continuation joined) with their first physical line number.</summary>
    public static IEnumerable<(int Line, string Text)> LogicalLines(string text)
    {
        var lineNumber = 0;
        var startLine = 0;
        StringBuilder? pending = null;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.EndsWith('\r') ? raw[..^1] : raw;
            if (EndsWithContinuation(line))
            {
                pending ??= new StringBuilder();
                if (pending.Length == 0)
                {
                    startLine = lineNumber;
                }

                pending.Append(line, 0, line.Length - 1).Append(' ');
                continue;
            }

            if (pending is { Length: > 0 })
            {
                pending.Append(line);
                yield return (startLine, pending.ToString());
                pending.Clear();
            }
            else
            {
                yield return (lineNumber, line);
            }
        }

        if (pending is { Length: > 0 })
        {
            yield return (startLine, pending.ToString());
        }
    }

    /// <summary>
    /// A trailing backslash continues the line unless it sits inside a '#' comment, so that a
    /// comment ending in '\' (legal in PgBouncer, which has no continuation) cannot swallow the rule below it.
    /// </summary>
    private static bool EndsWithContinuation(string line)
    {
        if (!line.EndsWith('\\'))
        {
            return false;
        }

        var quoted = false;
        foreach (var c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == '#' && !quoted)
            {
                return false;
            }
        }

        return true;
    }

    public static List<HbaToken> Tokenize(string line)
    {
        var tokens = new List<HbaToken>();
        var i = 0;
        while (true)
        {
            while (i < line.Length && char.IsWhiteSpace(line[i]))
            {
                i++;
            }

            if (i >= line.Length || line[i] == '#')
            {
                return tokens;
            }

            var c = line[i];
            if (c == ',')
            {
                tokens.Add(new HbaToken(HbaTokenKind.Comma, ","));
                i++;
            }
            else if (c == '"')
            {
                var sb = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= line.Length)
                    {
                        throw new HbaSyntaxException("unterminated quoted string");
                    }

                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            sb.Append('"');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    sb.Append(line[i++]);
                }

                if (i < line.Length && !IsTokenEnd(line[i]))
                {
                    throw new HbaSyntaxException($"unexpected character '{line[i]}' right after a quoted string");
                }

                tokens.Add(new HbaToken(HbaTokenKind.Quoted, sb.ToString()));
            }
            else
            {
                var start = i;
                while (i < line.Length && !IsTokenEnd(line[i]) && line[i] != '"')
                {
                    i++;
                }

                if (i < line.Length && line[i] == '"')
                {
                    throw new HbaSyntaxException($"unexpected quote inside '{line[start..i]}\"' (quote the whole name)");
                }

                tokens.Add(new HbaToken(HbaTokenKind.Word, line[start..i]));
            }
        }
    }

    private static bool IsTokenEnd(char c) => c is ',' or '#' || char.IsWhiteSpace(c);
}
