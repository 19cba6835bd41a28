namespace Sluice.Config;

/// <summary>The parts of a <c>postgres://user:pass@host:port/dbname</c> URL that the Docker image's DATABASE_URL carries.</summary>
internal sealed record DatabaseUrl(string? User, string? Password, string? Host, string? Port, string? DbName)
{
    /// <summary>
    /// Unlike the image's shell script this percent-decodes the parts and drops a <c>?query</c>, so passwords with
    /// reserved characters and URLs copied from hosting dashboards work.
    /// </summary>
    public static DatabaseUrl Parse(string url)
    {
        var rest = url.Trim();
        var scheme = rest.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            rest = rest[(scheme + 3)..];
        }

        var query = rest.IndexOfAny(['?', '#']);
        if (query >= 0)
        {
            rest = rest[..query];
        }

        string? user = null, password = null;
        var at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = rest[..at];
            rest = rest[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            user = Decode(colon >= 0 ? userInfo[..colon] : userInfo);
            password = colon >= 0 ? Decode(userInfo[(colon + 1)..]) : null;
        }

        string? dbName = null;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            dbName = Decode(rest[(slash + 1)..]);
            rest = rest[..slash];
        }

        string? port = null;
        var portColon = rest.LastIndexOf(':');
        if (portColon >= 0 && portColon > rest.LastIndexOf(']'))
        {
            port = rest[(portColon + 1)..];
            rest = rest[..portColon];
        }

        var host = rest.StartsWith('[') && rest.EndsWith(']') ? rest[1..^1] : rest;
        return new DatabaseUrl(Empty(user), Empty(password), Empty(Decode(host)), Empty(port), Empty(dbName));
    }

    private static string Decode(string text) => Uri.UnescapeDataString(text);

    private static string? Empty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}
