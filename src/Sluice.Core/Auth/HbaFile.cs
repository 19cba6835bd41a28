using System.Net;
using System.Text;

namespace Sluice.Auth;

/// <summary>
/// A parsed auth_hba_file (PgBouncer's pg_hba.conf subset, used with <c>auth_type = hba</c>).
/// Immutable: RELOAD builds a new instance and swaps it in.
/// <para>
/// Supported: types <c>local</c>, <c>host</c>, <c>hostssl</c>, <c>hostnossl</c>; database column
/// <c>all</c>, <c>sameuser</c>, <c>replication</c>, <c>@file</c>, names and comma lists; user column
/// <c>all</c>, <c>@file</c>, names and comma lists; address <c>all</c>, IPv4/IPv6 CIDR, or address
/// plus netmask column; methods <c>trust</c>, <c>reject</c>, <c>md5</c>, <c>password</c>,
/// <c>scram-sha-256</c>, <c>cert</c>, <c>peer</c>; option <c>map=NAME</c> (cert/peer only).
/// Quoted names are always literal (<c>"all"</c> is a database called all). <c>#</c> starts a
/// comment outside quotes; a trailing backslash continues a line.
/// </para>
/// <para>
/// Unlike PgBouncer, which logs and skips a line it cannot parse, every problem is an error:
/// <see cref="FormatException"/> "file:line: problem" (a skipped <c>reject</c> line would silently
/// open access).
/// </para>
/// </summary>
public sealed class HbaFile
{
    /// <summary>Maximum nesting of <c>@file</c> includes (PostgreSQL uses 10 too).</summary>
    internal const int MaxIncludeDepth = 10;

    private readonly HbaRule[] rules;

    private HbaFile(string fileName, HbaRule[] rules, string[] warnings)
    {
        FileName = fileName;
        this.rules = rules;
        Warnings = warnings;
    }

    /// <summary>No rules: every connection is rejected.</summary>
    public static HbaFile Empty { get; } = new(string.Empty, [], []);

    public string FileName { get; }

    public IReadOnlyList<HbaRule> Rules => rules;

    /// <summary>Non-fatal findings worth logging (e.g. an address with bits outside its mask).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>
    /// Reads and parses <paramref name="path"/> (UTF-8); <c>@file</c> names are resolved relative
    /// to the directory of the file that mentions them. I/O errors on the main file propagate as
    /// thrown by the file system; an unreadable @file or a malformed line throws
    /// <see cref="FormatException"/>.
    /// </summary>
    public static HbaFile Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllText(path, Encoding.UTF8), path);
    }

    /// <summary>
    /// Parses HBA text. <paramref name="fileName"/> names the file in errors and is the base for
    /// relative <c>@file</c> names; <paramref name="includeReader"/> receives the resolved include
    /// path and returns its text (default: read it from disk as UTF-8).
    /// </summary>
    public static HbaFile Parse(string text, string fileName, Func<string, string>? includeReader = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        var parser = new Parser(fileName, includeReader ?? (static p => File.ReadAllText(p, Encoding.UTF8)));
        var rules = new List<HbaRule>();
        foreach (var (line, content) in HbaTokenizer.LogicalLines(text))
        {
            try
            {
                var tokens = HbaTokenizer.Tokenize(content);
                if (tokens.Count == 0)
                {
                    continue;
                }

                var rule = parser.ParseRule(tokens, line);
                if (rule.Address is { HasHostBits: true })
                {
                    parser.Warnings.Add($"{fileName}:{line}: address {rule.Address.Network} has bits set outside its mask {rule.Address.Mask}; only the masked part is compared");
                }

                rules.Add(rule);
            }
            catch (HbaSyntaxException e)
            {
                throw new FormatException($"{fileName}:{line}: {e.Message}", e);
            }
        }

        return new HbaFile(fileName, [.. rules], [.. parser.Warnings]);
    }

    /// <summary>
    /// The first rule (in file order) that applies to the connection, or null when none does
    /// (PostgreSQL's "no pg_hba.conf entry": reject). <paramref name="address"/> is the TCP peer
    /// address (ignored for Unix sockets; null matches only <c>all</c>-address rules). A
    /// replication connection matches only rules whose database column has <c>replication</c>.
    /// </summary>
    public HbaRule? Match(bool isUnixSocket, bool isTls, string database, string user, IPAddress? address, bool isReplication = false)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(user);
        foreach (var rule in rules)
        {
            if (rule.Matches(isUnixSocket, isTls, database, user, address, isReplication))
            {
                return rule;
            }
        }

        return null;
    }

    /// <summary>
    /// Checks every <c>map=</c> against the loaded auth_ident_file, as PgBouncer does when it loads
    /// the HBA file: an unknown map (or no ident file at all) throws
    /// <see cref="FormatException"/> "file:line: ident map 'x' not found …".
    /// </summary>
    public void ValidateMaps(IdentMap? identMap)
    {
        foreach (var rule in rules)
        {
            if (rule.Map is { } map && (identMap is null || !identMap.ContainsMap(map)))
            {
                throw new FormatException(identMap is null
                    ? $"{FileName}:{rule.Line}: map={map} needs auth_ident_file, which is not set"
                    : $"{FileName}:{rule.Line}: ident map '{map}' not found in {identMap.FileName}");
            }
        }
    }

    internal static string MethodName(HbaMethod method) => method switch
    {
        HbaMethod.Trust => "trust",
        HbaMethod.Reject => "reject",
        HbaMethod.Md5 => "md5",
        HbaMethod.Password => "password",
        HbaMethod.ScramSha256 => "scram-sha-256",
        HbaMethod.Cert => "cert",
        HbaMethod.Peer => "peer",
        _ => method.ToString(),
    };

    private sealed class Parser(string fileName, Func<string, string> includeReader)
    {
        public List<string> Warnings { get; } = [];

        public HbaRule ParseRule(List<HbaToken> tokens, int line)
        {
            var pos = 0;
            var first = tokens[pos++];
            HbaConnectionType type;
            if (first.IsWord("local"))
            {
                type = HbaConnectionType.Local;
            }
            else if (first.IsWord("host"))
            {
                type = HbaConnectionType.Host;
            }
            else if (first.IsWord("hostssl"))
            {
                type = HbaConnectionType.HostSsl;
            }
            else if (first.IsWord("hostnossl"))
            {
                type = HbaConnectionType.HostNoSsl;
            }
            else if (first.Kind == HbaTokenKind.Word && first.Text is "hostgssenc" or "hostnogssenc")
            {
                throw new HbaSyntaxException($"connection type '{first.Text}' is not supported");
            }
            else
            {
                throw new HbaSyntaxException($"unknown connection type {first.Describe()} (expected local, host, hostssl or hostnossl)");
            }

            var databases = ParseNames(tokens, ref pos, isDatabase: true, "database");
            var users = ParseNames(tokens, ref pos, isDatabase: false, "user");
            HbaAddress? address = type == HbaConnectionType.Local ? null : ParseAddress(tokens, ref pos);
            var method = ParseMethod(tokens, ref pos);
            string? map = null;
            while (pos < tokens.Count)
            {
                var option = tokens[pos++];
                if (option.Kind != HbaTokenKind.Word || !option.Text.Contains('=', StringComparison.Ordinal))
                {
                    throw new HbaSyntaxException($"unexpected {option.Describe()} after the authentication method");
                }

                if (!option.Text.StartsWith("map=", StringComparison.Ordinal))
                {
                    throw new HbaSyntaxException($"unsupported option '{option.Text}' (only map= is supported)");
                }

                if (map is not null)
                {
                    throw new HbaSyntaxException("map= given more than once");
                }

                if (method is not (HbaMethod.Cert or HbaMethod.Peer))
                {
                    throw new HbaSyntaxException($"map= is only allowed with the cert and peer methods, not {MethodName(method)}");
                }

                map = option.Text["map=".Length..];
                if (map.Length == 0)
                {
                    throw new HbaSyntaxException("map= needs an ident map name");
                }
            }

            return new HbaRule(line, type, databases, users, address, method, map);
        }

        private HbaNameList ParseNames(List<HbaToken> tokens, ref int pos, bool isDatabase, string column)
        {
            var acc = new NameAccumulator();
            if (pos >= tokens.Count)
            {
                throw new HbaSyntaxException($"missing {column} field");
            }

            while (true)
            {
                if (pos >= tokens.Count)
                {
                    throw new HbaSyntaxException($"{column} list ends with a comma");
                }

                AddName(tokens[pos++], isDatabase, column, acc, fileName, 0);
                if (pos < tokens.Count && tokens[pos].Kind == HbaTokenKind.Comma)
                {
                    pos++;
                    continue;
                }

                break;
            }

            return new HbaNameList(acc.All, acc.SameUser, acc.Replication, acc.Names);
        }

        private void AddName(HbaToken token, bool isDatabase, string column, NameAccumulator acc, string currentFile, int depth)
        {
            switch (token.Kind)
            {
                case HbaTokenKind.Comma:
                    throw new HbaSyntaxException($"unexpected ',' in the {column} field");
                case HbaTokenKind.Quoted:
                    acc.Names.Add(token.Text);
                    return;
            }

            var word = token.Text;
            switch (word)
            {
                case "all":
                    acc.All = true;
                    return;
                case "sameuser" when isDatabase:
                    acc.SameUser = true;
                    return;
                case "replication" when isDatabase:
                    acc.Replication = true;
                    return;
                case "samerole" or "samegroup":
                    throw new HbaSyntaxException($"'{word}' is not supported");
                case "sameuser" or "replication":
                    throw new HbaSyntaxException($"'{word}' is only a keyword in the database field (quote it to mean a user called {word})");
            }

            if (word.StartsWith('+'))
            {
                throw new HbaSyntaxException($"group membership '{word}' is not supported");
            }

            if (word.StartsWith('@'))
            {
                IncludeNames(word[1..], isDatabase, column, acc, currentFile, depth + 1);
                return;
            }

            acc.Names.Add(word);
        }

        private void IncludeNames(string name, bool isDatabase, string column, NameAccumulator acc, string parentFile, int depth)
        {
            if (name.Length == 0)
            {
                throw new HbaSyntaxException("'@' must be followed by a file name");
            }

            if (depth > MaxIncludeDepth)
            {
                throw new HbaSyntaxException($"@{name}: @file includes nested more than {MaxIncludeDepth} deep");
            }

            var path = ResolveInclude(parentFile, name);
            string text;
            try
            {
                text = includeReader(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                throw new HbaSyntaxException($"cannot read @file '{path}': {e.Message}");
            }

            foreach (var (line, content) in HbaTokenizer.LogicalLines(text))
            {
                try
                {
                    // Names in an included file may be separated by commas and/or whitespace.
                    foreach (var token in HbaTokenizer.Tokenize(content))
                    {
                        if (token.Kind != HbaTokenKind.Comma)
                        {
                            AddName(token, isDatabase, column, acc, path, depth);
                        }
                    }
                }
                catch (HbaSyntaxException e)
                {
                    throw new HbaSyntaxException($"in @file '{path}' line {line}: {e.Message}");
                }
            }
        }

        private static string ResolveInclude(string parentFile, string name)
        {
            if (Path.IsPathRooted(name))
            {
                return name;
            }

            var dir = Path.GetDirectoryName(parentFile);
            return string.IsNullOrEmpty(dir) ? name : Path.Combine(dir, name);
        }

        private static HbaAddress ParseAddress(List<HbaToken> tokens, ref int pos)
        {
            if (pos >= tokens.Count)
            {
                throw new HbaSyntaxException("missing address field");
            }

            var token = tokens[pos++];
            if (token.Kind != HbaTokenKind.Word)
            {
                throw new HbaSyntaxException($"expected an address, found {token.Describe()}");
            }

            var text = token.Text;
            switch (text)
            {
                case "all":
                    return HbaAddress.All;
                case "samehost" or "samenet":
                    throw new HbaSyntaxException($"'{text}' is not supported");
            }

            var slash = text.IndexOf('/', StringComparison.Ordinal);
            var ipText = slash >= 0 ? text[..slash] : text;
            if (!HbaAddress.TryParseIp(ipText, out var ip))
            {
                throw new HbaSyntaxException($"invalid IP address '{ipText}' (host names are not supported)");
            }

            if (slash >= 0)
            {
                var bitsText = text[(slash + 1)..];
                var maxBits = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
                if (bitsText.Length is 0 or > 3 || !bitsText.All(char.IsAsciiDigit) || int.Parse(bitsText, System.Globalization.CultureInfo.InvariantCulture) > maxBits)
                {
                    throw new HbaSyntaxException($"invalid CIDR mask '/{bitsText}' in '{text}' (0..{maxBits})");
                }

                return HbaAddress.CreateFromPrefix(ip, int.Parse(bitsText, System.Globalization.CultureInfo.InvariantCulture));
            }

            if (pos >= tokens.Count)
            {
                throw new HbaSyntaxException($"address '{text}' needs a /prefix or a netmask field");
            }

            var maskToken = tokens[pos++];
            if (maskToken.Kind != HbaTokenKind.Word || !HbaAddress.TryParseIp(maskToken.Text, out var mask) || mask.AddressFamily != ip.AddressFamily)
            {
                throw new HbaSyntaxException($"address '{text}' needs a /prefix or a netmask field; {maskToken.Describe()} is not a netmask");
            }

            return HbaAddress.Create(ip, mask);
        }

        private static HbaMethod ParseMethod(List<HbaToken> tokens, ref int pos)
        {
            if (pos >= tokens.Count)
            {
                throw new HbaSyntaxException("missing authentication method");
            }

            var token = tokens[pos++];
            if (token.Kind != HbaTokenKind.Word)
            {
                throw new HbaSyntaxException($"expected an authentication method, found {token.Describe()}");
            }

            return token.Text switch
            {
                "trust" => HbaMethod.Trust,
                "reject" => HbaMethod.Reject,
                "md5" => HbaMethod.Md5,
                "password" => HbaMethod.Password,
                "scram-sha-256" => HbaMethod.ScramSha256,
                "cert" => HbaMethod.Cert,
                "peer" => HbaMethod.Peer,
                "plain" => throw new HbaSyntaxException("unknown authentication method 'plain' (the HBA name is 'password')"),
                "any" or "pam" or "hba" => throw new HbaSyntaxException($"authentication method '{token.Text}' is not allowed in the HBA file (it only works as the global auth_type)"),
                "ldap" or "gss" or "sspi" or "ident" or "radius" or "bsd" or "oauth" => throw new HbaSyntaxException($"authentication method '{token.Text}' is not supported"),
                _ => throw new HbaSyntaxException($"unknown authentication method {token.Describe()}"),
            };
        }

        private sealed class NameAccumulator
        {
            public bool All;
            public bool SameUser;
            public bool Replication;
            public readonly HashSet<string> Names = new(StringComparer.Ordinal);
        }
    }
}
