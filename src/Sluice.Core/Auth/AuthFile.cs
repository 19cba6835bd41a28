using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Sluice.Auth;

/// <summary>
/// A parsed auth_file (userlist.txt): one <c>"user" "secret"</c> pair per line, further text on the
/// line ignored, <c>""</c> escaping a quote inside a field, lines starting with ';' or '#' and
/// blank lines skipped. Immutable: RELOAD builds a new instance and swaps it in.
/// </summary>
public sealed class AuthFile
{
    private readonly FrozenDictionary<string, PasswordSecret> users;

    private AuthFile(FrozenDictionary<string, PasswordSecret> users)
    {
        this.users = users;
    }

    public static AuthFile Empty { get; } = new(FrozenDictionary<string, PasswordSecret>.Empty);

    public int Count => users.Count;

    /// <summary>
    /// Reads and parses <paramref name="path"/> (UTF-8). I/O errors propagate as thrown by the
    /// file system; a malformed line throws <see cref="FormatException"/> "path:line: problem".
    /// </summary>
    public static AuthFile Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllText(path, Encoding.UTF8), path);
    }

    /// <summary>
    /// Parses auth_file text; <paramref name="fileName"/> is only used in error messages. Errors
    /// never quote the line, because it holds a password. If a user appears twice, the later line
    /// wins, so an appended line overrides an older one.
    /// </summary>
    public static AuthFile Parse(string text, string fileName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        var result = new Dictionary<string, PasswordSecret>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var rawLine in text.AsSpan().EnumerateLines())
        {
            lineNumber++;
            var line = rawLine.TrimStart();
            if (line.IsEmpty || line[0] is ';' or '#')
            {
                continue;
            }

            if (!TryReadQuoted(ref line, out var user, out var problem))
            {
                throw Malformed(fileName, lineNumber, problem + " user name");
            }

            if (user.Length == 0)
            {
                throw Malformed(fileName, lineNumber, "empty user name");
            }

            line = line.TrimStart();
            if (!TryReadQuoted(ref line, out var secret, out problem))
            {
                throw Malformed(fileName, lineNumber, problem + " password");
            }

            // Whatever follows the secret is ignored, as PgBouncer does.
            result[user] = PasswordSecret.Parse(secret);
        }

        return result.Count == 0 ? Empty : new AuthFile(result.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>Looks the user up by exact (ordinal, case-sensitive) name.</summary>
    public bool TryGet(string user, [MaybeNullWhen(false)] out PasswordSecret secret)
    {
        ArgumentNullException.ThrowIfNull(user);
        return users.TryGetValue(user, out secret);
    }

    private static FormatException Malformed(string fileName, int line, string what) =>
        new($"{fileName}:{line}: {what}");

    /// <summary>Reads one double-quoted field at the start of <paramref name="line"/>, un-doubling "" escapes.</summary>
    private static bool TryReadQuoted(ref ReadOnlySpan<char> line, out string value, out string problem)
    {
        value = string.Empty;
        if (line.IsEmpty || line[0] != '"')
        {
            problem = "expected double-quoted";
            return false;
        }

        var builder = new StringBuilder();
        var i = 1;
        while (i < line.Length)
        {
            if (line[i] == '"')
            {
                if (i + 1 < line.Length && line[i + 1] == '"')
                {
                    builder.Append('"');
                    i += 2;
                    continue;
                }

                value = builder.ToString();
                line = line[(i + 1)..];
                problem = string.Empty;
                return true;
            }

            builder.Append(line[i]);
            i++;
        }

        problem = "unterminated";
        return false;
    }
}
