using System.Text;

namespace Sluice.Config;

/// <summary>
/// Splits a libpq-style <c>key=value key2='quoted value'</c> string as used by [databases], [users] and [peers].
/// Quoted values take <c>''</c> or <c>\'</c> for a quote and <c>\\</c> for a backslash; an unquoted empty value
/// is an error because it is almost always a typo (<c>host= foo</c>).
/// </summary>
internal static class ConnString
{
    /// <summary>Pairs in the order written; a repeated key appears twice and the caller lets the later one win.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Parse(string text, string owner)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        var pos = 0;
        while (true)
        {
            SkipSpace(text, ref pos);
            if (pos >= text.Length)
            {
                return pairs;
            }

            var start = pos;
            while (pos < text.Length && text[pos] != '=' && !char.IsWhiteSpace(text[pos]))
            {
                pos++;
            }

            var key = text[start..pos];
            SkipSpace(text, ref pos);
            if (key.Length == 0 || pos >= text.Length || text[pos] != '=')
            {
                throw new ConfigException($"syntax error in connection string near \"{text[start..]}\"", key: owner);
            }

            pos++;
            SkipSpace(text, ref pos);
            var value = pos < text.Length && text[pos] == '\''
                ? ReadQuoted(text, ref pos, owner, key)
                : ReadBare(text, ref pos, owner, key);
            pairs.Add(new(key, value));
        }
    }

    private static string ReadBare(string text, ref int pos, string owner, string key)
    {
        var start = pos;
        while (pos < text.Length && !char.IsWhiteSpace(text[pos]))
        {
            pos++;
        }

        if (pos == start)
        {
            throw new ConfigException($"empty value for connection parameter {key}", key: owner);
        }

        return text[start..pos];
    }

    private static string ReadQuoted(string text, ref int pos, string owner, string key)
    {
        var value = new StringBuilder();
        pos++;
        while (pos < text.Length)
        {
            var c = text[pos++];
            if (c == '\\' && pos < text.Length)
            {
                value.Append(text[pos++]);
            }
            else if (c != '\'')
            {
                value.Append(c);
            }
            else if (pos < text.Length && text[pos] == '\'')
            {
                value.Append('\'');
                pos++;
            }
            else
            {
                return value.ToString();
            }
        }

        throw new ConfigException($"unterminated quoted value for connection parameter {key}", key: owner);
    }

    private static void SkipSpace(string text, ref int pos)
    {
        while (pos < text.Length && char.IsWhiteSpace(text[pos]))
        {
            pos++;
        }
    }
}
