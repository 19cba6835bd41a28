using System.Text;

namespace Sluice.Protocol;

/// <summary>
/// The "options" startup parameter: the command-line arguments a client passes to the backend (libpq's
/// PGOPTIONS). Only settings are understood, written <c>-c name=value</c>, <c>-cname=value</c> or
/// <c>--name=value</c>, separated by white space; a backslash makes the next character literal (so a value
/// can hold spaces). Anything else (<c>-d 5</c>, a bare <c>-c name</c>) is refused as PgBouncer does, since
/// a pooler cannot pass per-client backend flags through a shared server connection.
/// </summary>
internal static class StartupOptions
{
    public const string MalformedError = "unsupported options startup parameter: only '-c config=val' and '--config=val' are allowed";

    /// <summary>
    /// Appends the settings in <paramref name="options"/> to <paramref name="settings"/> in the order written.
    /// False when the text holds something that is not a setting.
    /// </summary>
    public static bool TryParse(string options, List<KeyValuePair<string, string>> settings)
    {
        var token = new StringBuilder();
        var position = 0;
        while (true)
        {
            position = SkipWhiteSpace(options, position);
            if (position >= options.Length)
            {
                return true;
            }
            if (string.CompareOrdinal(options, position, "-c", 0, 2) == 0)
            {
                position = SkipWhiteSpace(options, position + 2);
            }
            else if (string.CompareOrdinal(options, position, "--", 0, 2) == 0)
            {
                position += 2;
            }
            else
            {
                return false;
            }
            token.Clear();
            position = ReadToken(options, position, token);
            // The '=' is looked for after unescaping: "name\=value" is a setting too.
            var text = token.ToString();
            var equals = text.IndexOf('=');
            if (equals < 0)
            {
                return false;
            }
            settings.Add(new(text[..equals], text[(equals + 1)..]));
        }
    }

    private static int SkipWhiteSpace(string text, int position)
    {
        while (position < text.Length && IsSpace(text[position]))
        {
            position++;
        }
        return position;
    }

    /// <summary>Reads up to unescaped white space; a backslash is dropped and the character after it kept.</summary>
    private static int ReadToken(string text, int position, StringBuilder token)
    {
        while (position < text.Length)
        {
            var c = text[position];
            if (c == '\\')
            {
                position++;
                if (position >= text.Length)
                {
                    break;
                }
                token.Append(text[position++]);
                continue;
            }
            if (IsSpace(c))
            {
                break;
            }
            token.Append(c);
            position++;
        }
        return position;
    }

    /// <summary>C's isspace: what PostgreSQL's own splitting of the options string treats as a separator.</summary>
    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';
}
