using System.Net;
using Sluice.Auth;

namespace Sluice.Fuzz;

/// <summary>
/// auth_hba_file text through HbaFile.Parse (tokenizer with quotes, comments and line continuations; types,
/// name lists, @file includes, CIDR / address+netmask, methods and options), then Match on a few connections;
/// and pg_ident text through IdentMap.Parse, checked against the HBA maps (ValidateMaps) and queried (Allows).
/// Input: "hba text\0ident text" (the ident part is optional). @file names are served from memory: users,
/// dbs, nested (includes users), loop (includes itself); any other name does not exist.
/// Catches FormatException only (documented for every malformed line and unreadable @file).
/// </summary>
public sealed class HbaTarget : FuzzTarget
{
    private static readonly Dictionary<string, string> Includes = new(StringComparer.Ordinal)
    {
        ["users"] = "alice, bob\n# comment\n\"quoted user\"\n",
        ["dbs"] = "app reporting,\"all\"\n",
        ["nested"] = "carol @users\n",
        ["loop"] = "@loop\n",
    };

    private static readonly (bool Unix, bool Tls, string Database, string User, IPAddress? Address, bool Replication)[] Probes =
    [
        (true, false, "app", "alice", null, false),
        (false, false, "reporting", "bob", IPAddress.Parse("10.1.2.3"), false),
        (false, true, "app", "app", IPAddress.Parse("192.168.0.200"), false),
        (false, false, "replication", "carol", IPAddress.Parse("::1"), true),
        (false, true, "all", "quoted user", IPAddress.Parse("2001:db8::17"), false),
    ];

    public override string Name => "hba";

    public override string Covers => "HbaFile.Parse/Match (+ @file includes) and IdentMap.Parse/Allows, ValidateMaps";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var zero = input.IndexOf((byte)0);
        var hbaText = FuzzText.Decode(zero < 0 ? input : input[..zero]);
        var identText = zero < 0 ? null : FuzzText.Decode(input[(zero + 1)..]);

        HbaFile? hba = null;
        try
        {
            hba = HbaFile.Parse(hbaText, "/fuzz/pg_hba.conf", ReadInclude);
            foreach (var probe in Probes)
            {
                var rule = hba.Match(probe.Unix, probe.Tls, probe.Database, probe.User, probe.Address, probe.Replication);
                Check(rule is null || hba.Rules.Contains(rule), "Match returned a rule that is not in the file");
                _ = rule?.ToString();
            }
        }
        catch (FormatException)
        {
        }

        if (identText is null)
        {
            return;
        }
        IdentMap ident;
        try
        {
            ident = IdentMap.Parse(identText, "/fuzz/pg_ident.conf");
        }
        catch (FormatException)
        {
            return;
        }
        foreach (var map in ident.MapNames.ToArray())
        {
            Check(ident.ContainsMap(map), "a listed map is not found");
            _ = ident.Allows(map, "alice", "alice");
            _ = ident.Allows(map, "root", "postgres");
        }
        try
        {
            hba?.ValidateMaps(ident);
        }
        catch (FormatException)
        {
        }
    }

    private static string ReadInclude(string path) =>
        Includes.TryGetValue(Path.GetFileName(path), out var text) ? text : throw new FileNotFoundException("no such @file", path);
}
