using System.Collections.Frozen;
using System.Text;

namespace Sluice.Auth;

/// <summary>
/// A parsed auth_ident_file: lines <c>map-name system-user database-user</c>, used by HBA rules
/// with <c>map=</c> (cert and peer). <c>database-user</c> may be the keyword <c>all</c> (quoted
/// <c>"all"</c> is a user called all). As in PgBouncer there are no regular expressions (a
/// system user written <c>/^x$/</c> is compared literally) and no include directives. Names
/// compare ordinally. <c>#</c> starts a comment outside quotes. Immutable.
/// </summary>
public sealed class IdentMap
{
    private readonly FrozenDictionary<string, Entry[]> maps;

    private IdentMap(string fileName, FrozenDictionary<string, Entry[]> maps)
    {
        FileName = fileName;
        this.maps = maps;
    }

    public static IdentMap Empty { get; } = new(string.Empty, FrozenDictionary<string, Entry[]>.Empty);

    public string FileName { get; }

    /// <summary>Names of the maps defined in the file.</summary>
    public IEnumerable<string> MapNames => maps.Keys;

    /// <summary>Reads and parses <paramref name="path"/> (UTF-8); I/O errors propagate, bad lines throw <see cref="FormatException"/>.</summary>
    public static IdentMap Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllText(path, Encoding.UTF8), path);
    }

    /// <summary>Parses ident map text; errors throw <see cref="FormatException"/> "file:line: problem".</summary>
    public static IdentMap Parse(string text, string fileName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        var result = new Dictionary<string, List<Entry>>(StringComparer.Ordinal);
        foreach (var (line, content) in HbaTokenizer.LogicalLines(text))
        {
            try
            {
                var tokens = HbaTokenizer.Tokenize(content);
                if (tokens.Count == 0)
                {
                    continue;
                }

                if (tokens.Any(t => t.Kind == HbaTokenKind.Comma))
                {
                    throw new HbaSyntaxException("unexpected ',' (ident map lines are: map-name system-user database-user)");
                }

                if (tokens.Count < 3)
                {
                    throw new HbaSyntaxException(tokens.Count == 1 ? "missing system user name and database user name" : "missing database user name");
                }

                if (tokens.Count > 3)
                {
                    throw new HbaSyntaxException($"unexpected {tokens[3].Describe()} after the database user name");
                }

                var mapName = tokens[0].Text;
                var systemUser = tokens[1].Text;
                var dbUser = tokens[2].IsWord("all") ? null : tokens[2].Text;
                if (mapName.Length == 0)
                {
                    throw new HbaSyntaxException("empty map name");
                }

                if (!result.TryGetValue(mapName, out var entries))
                {
                    entries = [];
                    result.Add(mapName, entries);
                }

                entries.Add(new Entry(systemUser, dbUser));
            }
            catch (HbaSyntaxException e)
            {
                throw new FormatException($"{fileName}:{line}: {e.Message}", e);
            }
        }

        return new IdentMap(fileName, result.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal));
    }

    public bool ContainsMap(string mapName)
    {
        ArgumentNullException.ThrowIfNull(mapName);
        return maps.ContainsKey(mapName);
    }

    /// <summary>
    /// Whether map <paramref name="mapName"/> lets <paramref name="systemUser"/> (certificate
    /// name or Unix peer user) log in as <paramref name="databaseUser"/>. An unknown map allows nothing.
    /// </summary>
    public bool Allows(string mapName, string systemUser, string databaseUser)
    {
        ArgumentNullException.ThrowIfNull(mapName);
        ArgumentNullException.ThrowIfNull(systemUser);
        ArgumentNullException.ThrowIfNull(databaseUser);
        if (!maps.TryGetValue(mapName, out var entries))
        {
            return false;
        }

        foreach (var entry in entries)
        {
            if (string.Equals(entry.SystemUser, systemUser, StringComparison.Ordinal)
                && (entry.DatabaseUser is null || string.Equals(entry.DatabaseUser, databaseUser, StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One mapping line; a null database user means <c>all</c>.</summary>
    private readonly record struct Entry(string SystemUser, string? DatabaseUser);
}
