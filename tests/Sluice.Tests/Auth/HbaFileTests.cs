using System.Net;

namespace Sluice.Auth;

public sealed class HbaFileTests
{
    private const string Unix = "unix";

    /// <summary>Evaluates one connection against rules; returns the method name, "none" when no rule matches.</summary>
    private static string Eval(string rules, string db, string user, string address, bool tls = false, bool replication = false, Func<string, string>? includes = null)
    {
        var file = HbaFile.Parse(rules, "/etc/pgbouncer/hba.conf", includes);
        var unix = address == Unix;
        var rule = file.Match(unix, tls, db, user, unix ? null : IPAddress.Parse(address), replication);
        return rule is null ? "none" : HbaFile.MethodName(rule.Method);
    }

    // rules, database, user, address, tls, expected
    public static TheoryData<string, string, string, string, bool, string> FieldForms => new()
    {
        // connection types
        { "local all all trust", "d", "u", Unix, false, "trust" },
        { "local all all trust", "d", "u", "127.0.0.1", false, "none" },
        { "host all all all trust", "d", "u", Unix, false, "none" },
        { "host all all all trust", "d", "u", "127.0.0.1", false, "trust" },
        { "host all all all trust", "d", "u", "127.0.0.1", true, "trust" },
        { "hostssl all all all cert", "d", "u", "127.0.0.1", true, "cert" },
        { "hostssl all all all cert", "d", "u", "127.0.0.1", false, "none" },
        { "hostnossl all all all md5", "d", "u", "127.0.0.1", false, "md5" },
        { "hostnossl all all all md5", "d", "u", "127.0.0.1", true, "none" },
        { "hostssl all all all cert", "d", "u", Unix, true, "none" },
        // database column
        { "host sameuser all all md5", "alice", "alice", "10.0.0.1", false, "md5" },
        { "host sameuser all all md5", "alice", "bob", "10.0.0.1", false, "none" },
        { "host \"sameuser\" all all md5", "alice", "alice", "10.0.0.1", false, "none" },
        { "host \"sameuser\" all all md5", "sameuser", "x", "10.0.0.1", false, "md5" },
        { "host a,b,sameuser all all md5", "b", "x", "10.0.0.1", false, "md5" },
        { "host a,b,sameuser all all md5", "x", "x", "10.0.0.1", false, "md5" },
        { "host a,b,sameuser all all md5", "c", "x", "10.0.0.1", false, "none" },
        { "host Db all all md5", "db", "u", "10.0.0.1", false, "none" },
        { "host \"My Db\" all all md5", "My Db", "u", "10.0.0.1", false, "md5" },
        { "host \"a,b\" all all md5", "a,b", "u", "10.0.0.1", false, "md5" },
        { "host \"a,b\" all all md5", "a", "u", "10.0.0.1", false, "none" },
        { "host \"#x\" all all md5 # comment", "#x", "u", "10.0.0.1", false, "md5" },
        { "host \"\"\"q\"\"\" all all md5", "\"q\"", "u", "10.0.0.1", false, "md5" },
        { "host \"@x\" all all md5", "@x", "u", "10.0.0.1", false, "md5" },
        { "host \"+g\" \"+g\" all md5", "+g", "+g", "10.0.0.1", false, "md5" },
        { "host replication all all md5", "replication", "u", "10.0.0.1", false, "none" },
        { "host \"replication\" all all md5", "replication", "u", "10.0.0.1", false, "md5" },
        // user column
        { "host all alice , bob all md5", "d", "bob", "10.0.0.1", false, "md5" },
        { "host all alice,bob all md5", "d", "carol", "10.0.0.1", false, "none" },
        { "host all \"all\" all md5", "d", "bob", "10.0.0.1", false, "none" },
        { "host all \"all\" all md5", "d", "all", "10.0.0.1", false, "md5" },
        { "host all \"sameuser\" all md5", "d", "sameuser", "10.0.0.1", false, "md5" },
        { "host all Alice all md5", "d", "alice", "10.0.0.1", false, "none" },
        // address column
        { "host all all 10.0.0.0/8 md5", "d", "u", "10.255.0.1", false, "md5" },
        { "host all all 10.0.0.0/8 md5", "d", "u", "11.0.0.1", false, "none" },
        { "host all all 10.1.2.3/32 md5", "d", "u", "10.1.2.3", false, "md5" },
        { "host all all 10.1.2.3/32 md5", "d", "u", "10.1.2.4", false, "none" },
        { "host all all 0.0.0.0/0 md5", "d", "u", "203.0.113.9", false, "md5" },
        { "host all all 0.0.0.0/0 md5", "d", "u", "::1", false, "none" },
        { "host all all 192.168.0.0 255.255.0.0 md5", "d", "u", "192.168.77.1", false, "md5" },
        { "host all all 192.168.0.0 255.255.0.0 md5", "d", "u", "192.169.0.1", false, "none" },
        { "host all all 192.168.1.0/25 md5", "d", "u", "192.168.1.127", false, "md5" },
        { "host all all 192.168.1.0/25 md5", "d", "u", "192.168.1.128", false, "none" },
        { "host all all 10.1.2.3/8 md5", "d", "u", "10.9.9.9", false, "md5" },
        // IPv6
        { "host all all ::1/128 md5", "d", "u", "::1", false, "md5" },
        { "host all all ::1/128 md5", "d", "u", "127.0.0.1", false, "none" },
        { "host all all 2001:db8::/32 md5", "d", "u", "2001:db8:ffff::5", false, "md5" },
        { "host all all 2001:db8::/32 md5", "d", "u", "2001:db9::5", false, "none" },
        { "host all all 2001:db8:: ffff:ffff:: md5", "d", "u", "2001:db8:1::1", false, "md5" },
        { "host all all fe80::/10 md5", "d", "u", "fe80::1%3", false, "md5" },
        { "host all all ::/0 md5", "d", "u", "10.0.0.1", false, "none" },
        { "host all all ::/0 md5", "d", "u", "::ffff:10.0.0.1", false, "md5" },
        { "host all all all md5", "d", "u", "2001:db8::1", false, "md5" },
        // IPv4-mapped IPv6 clients match IPv4 rules
        { "host all all 10.0.0.0/8 md5", "d", "u", "::ffff:10.1.2.3", false, "md5" },
        { "host all all 10.0.0.0/8 md5", "d", "u", "::ffff:11.1.2.3", false, "none" },
        { "host all all 127.0.0.1/32 md5", "d", "u", "::ffff:127.0.0.1", false, "md5" },
        { "host all all 10.0.0.0/8 md5", "d", "u", "::a00:1", false, "none" },
        // methods and options
        { "local all all peer map=m", "d", "u", Unix, false, "peer" },
        { "hostssl all all all cert map=m", "d", "u", "1.1.1.1", true, "cert" },
        { "host all all all password", "d", "u", "1.1.1.1", false, "password" },
        { "host all all all scram-sha-256", "d", "u", "1.1.1.1", false, "scram-sha-256" },
        { "host all all all reject", "d", "u", "1.1.1.1", false, "reject" },
        // cert on host and peer on host parse (PgBouncer accepts them; login then fails)
        { "host all all all cert", "d", "u", "1.1.1.1", false, "cert" },
        { "host all all all peer", "d", "u", "1.1.1.1", false, "peer" },
        // continuation lines
        { "host all \\\n  all \\\n  all md5", "d", "u", "1.1.1.1", false, "md5" },
        { "host all all 10.0.0.0/8 md5\r\nhost all all all trust\r\n", "d", "u", "1.1.1.1", false, "trust" },
        { "# comment ending in a backslash \\\nhost all all all trust", "d", "u", "1.1.1.1", false, "trust" },
        { "host all all all trust # note \\\nhost all all all md5", "d", "u", "1.1.1.1", false, "trust" },
        { "hostssl \"x#\" all all cert \\\n map=m", "x#", "u", "1.1.1.1", true, "cert" },
    };

    [Theory]
    [MemberData(nameof(FieldForms))]
    public void FieldForm(string rules, string db, string user, string address, bool tls, string expected) =>
        Assert.Equal(expected, Eval(rules, db, user, address, tls));

    // rules, problem fragment, line
    public static TheoryData<string, string, int> Errors => new()
    {
        { "hots all all all md5", "unknown connection type 'hots'", 1 },
        { "HOST all all all md5", "unknown connection type 'HOST'", 1 },
        { "\"host\" all all all md5", "unknown connection type", 1 },
        { "# ok\n\nhostgssenc all all all md5", "'hostgssenc' is not supported", 3 },
        { ", all all all md5", "unknown connection type ','", 1 },
        { "host", "missing database field", 1 },
        { "host all", "missing user field", 1 },
        { "host all all", "missing address field", 1 },
        { "host all all all", "missing authentication method", 1 },
        { "local all all", "missing authentication method", 1 },
        { "host a,,b all all md5", "unexpected ',' in the database field", 1 },
        { "host all a,,b all md5", "unexpected ',' in the user field", 1 },
        { "host all a , all md5", "invalid IP address 'md5'", 1 },
        { "host all a,", "user list ends with a comma", 1 },
        { "host ,a all all md5", "unexpected ',' in the database field", 1 },
        { "host samerole all all md5", "'samerole' is not supported", 1 },
        { "host samegroup all all md5", "'samegroup' is not supported", 1 },
        { "host all +admins all md5", "group membership '+admins' is not supported", 1 },
        { "host all sameuser all md5", "only a keyword in the database field", 1 },
        { "host all replication all md5", "only a keyword in the database field", 1 },
        { "host all @ all md5", "'@' must be followed by a file name", 1 },
        { "host \"unterminated all all md5", "unterminated quoted string", 1 },
        { "host a\"b\" all all md5", "unexpected quote", 1 },
        { "host \"a\"b all all md5", "right after a quoted string", 1 },
        { "host all all localhost md5", "invalid IP address 'localhost'", 1 },
        { "host all all db.example.com md5", "host names are not supported", 1 },
        { "host all all .example.com md5", "invalid IP address", 1 },
        { "host all all samehost md5", "'samehost' is not supported", 1 },
        { "host all all samenet md5", "'samenet' is not supported", 1 },
        { "host all all 10.0.0/8 md5", "invalid IP address '10.0.0'", 1 },
        { "host all all 10.0.0.256/32 md5", "invalid IP address", 1 },
        { "host all all 010.0.0.1/32 md5", "invalid IP address", 1 },
        { "host all all 10.0.0.0/33 md5", "invalid CIDR mask '/33'", 1 },
        { "host all all 10.0.0.0/ md5", "invalid CIDR mask '/'", 1 },
        { "host all all 10.0.0.0/-1 md5", "invalid CIDR mask", 1 },
        { "host all all 10.0.0.0/8x md5", "invalid CIDR mask", 1 },
        { "host all all ::1/129 md5", "invalid CIDR mask '/129'", 1 },
        { "host all all fe80::1%eth0/128 md5", "invalid IP address", 1 },
        { "host all all \"10.0.0.0/8\" md5", "expected an address", 1 },
        { "host all all 10.0.0.1 md5", "'md5' is not a netmask", 1 },
        { "host all all 10.0.0.0 ffff:: md5", "is not a netmask", 1 },
        { "host all all 10.0.0.0", "needs a /prefix or a netmask field", 1 },
        { "host all all all gss", "authentication method 'gss' is not supported", 1 },
        { "host all all all ldap", "authentication method 'ldap' is not supported", 1 },
        { "host all all all ident", "not supported", 1 },
        { "host all all all pam", "only works as the global auth_type", 1 },
        { "host all all all any", "only works as the global auth_type", 1 },
        { "host all all all hba", "only works as the global auth_type", 1 },
        { "host all all all plain", "the HBA name is 'password'", 1 },
        { "host all all all MD5", "unknown authentication method 'MD5'", 1 },
        { "host all all all scram-sha-1", "unknown authentication method", 1 },
        { "local all all 127.0.0.1/32 trust", "unknown authentication method '127.0.0.1/32'", 1 },
        { "host all all all \"md5\"", "expected an authentication method", 1 },
        { "host all all all md5 map=m", "map= is only allowed with the cert and peer methods, not md5", 1 },
        { "host all all all trust map=m", "not trust", 1 },
        { "host all all all scram-sha-256 map=m", "not scram-sha-256", 1 },
        { "host all all all reject map=m", "not reject", 1 },
        { "host all all all password map=m", "not password", 1 },
        { "hostssl all all all cert map=", "map= needs an ident map name", 1 },
        { "hostssl all all all cert map=a map=b", "map= given more than once", 1 },
        { "hostssl all all all cert clientcert=verify-full", "unsupported option 'clientcert=verify-full'", 1 },
        { "host all all all md5 extra", "unexpected 'extra' after the authentication method", 1 },
        { "host all all all md5 , x", "unexpected ','", 1 },
        { "local all all trust\nlocal all all trust\nhost all all all bogus", "unknown authentication method 'bogus'", 3 },
        { "host all all \\\n all \\\n bogus", "unknown authentication method 'bogus'", 1 },
        { "include other.conf", "unknown connection type 'include'", 1 },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void RejectsMalformedLines(string rules, string problem, int line)
    {
        var e = Assert.Throws<FormatException>(() => HbaFile.Parse(rules, "pg_hba.conf", _ => "x"));
        Assert.StartsWith($"pg_hba.conf:{line}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FirstMatchingRuleWins()
    {
        const string rules =
            "host all admin 10.0.0.0/8 reject\n" +
            "host all all 10.1.0.0/16 trust\n" +
            "host all all 10.0.0.0/8 md5\n" +
            "host all all all scram-sha-256\n";
        var file = HbaFile.Parse(rules, "hba.conf");

        Assert.Equal(HbaMethod.Reject, file.Match(false, false, "d", "admin", IPAddress.Parse("10.1.0.1"), false)!.Method);
        var trust = file.Match(false, false, "d", "u", IPAddress.Parse("10.1.0.1"))!;
        Assert.Equal((HbaMethod.Trust, 2), (trust.Method, trust.Line));
        Assert.Equal(3, file.Match(false, false, "d", "u", IPAddress.Parse("10.2.0.1"))!.Line);
        Assert.Equal(4, file.Match(false, false, "d", "u", IPAddress.Parse("192.0.2.1"))!.Line);
        Assert.Equal(4, file.Match(false, true, "d", "admin", IPAddress.Parse("192.0.2.1"))!.Line);
        Assert.Null(file.Match(true, false, "d", "u", null));
    }

    [Fact]
    public void EmptyFileAndCommentsOnlyMatchNothing()
    {
        Assert.Null(HbaFile.Empty.Match(true, false, "d", "u", null));
        var file = HbaFile.Parse("# nothing\n\n   \t\n  # still nothing\n", "hba.conf");
        Assert.Empty(file.Rules);
        Assert.Null(file.Match(false, false, "d", "u", IPAddress.Loopback));
    }

    [Fact]
    public void NullAddressOnTcpMatchesOnlyAllAddressRules()
    {
        var file = HbaFile.Parse("host all all 0.0.0.0/0 md5\nhost all all all trust", "hba.conf");
        Assert.Equal(HbaMethod.Trust, file.Match(false, false, "d", "u", null)!.Method);
    }

    [Fact]
    public void RuleExposesParsedFields()
    {
        var file = HbaFile.Parse(
            "hostssl app,sameuser,replication \"Bob\",carol 2001:db8::/48 cert map=certmap # tail\n" +
            "local all all peer\n",
            "hba.conf");

        var rule = file.Rules[0];
        Assert.Equal(1, rule.Line);
        Assert.Equal(HbaConnectionType.HostSsl, rule.Type);
        Assert.Equal(HbaMethod.Cert, rule.Method);
        Assert.Equal("certmap", rule.Map);
        Assert.True(rule.Databases.SameUser);
        Assert.True(rule.Databases.Replication);
        Assert.False(rule.Databases.All);
        Assert.Equal(new[] { "app" }, rule.Databases.Names.ToArray());
        Assert.Equal(new[] { "Bob", "carol" }, rule.Users.Names.Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(IPAddress.Parse("2001:db8::"), rule.Address!.Network);
        Assert.Equal("2001:db8::/48", rule.Address.ToString());
        Assert.Equal("hostssl sameuser,replication,\"app\" \"Bob\",\"carol\" 2001:db8::/48 cert map=certmap", rule.ToString());

        var local = file.Rules[1];
        Assert.Equal(HbaConnectionType.Local, local.Type);
        Assert.Null(local.Address);
        Assert.Null(local.Map);
        Assert.True(local.Users.All);
        Assert.Equal("local all all peer", local.ToString());
    }

    [Fact]
    public void AddressWithHostBitsIsMaskedAndWarned()
    {
        var file = HbaFile.Parse("host all all 0.0.0.0/0 reject\nhost all all 192.168.1.1/24 md5", "hba.conf");
        var warning = Assert.Single(file.Warnings);
        Assert.StartsWith("hba.conf:2: address 192.168.1.1 has bits set outside its mask 255.255.255.0", warning, StringComparison.Ordinal);
        Assert.True(file.Rules[1].Address!.HasHostBits);
        Assert.False(file.Rules[0].Address!.HasHostBits);
        Assert.True(file.Rules[1].Address!.Matches(IPAddress.Parse("192.168.1.200")));
    }

    [Fact]
    public void NonContiguousNetmaskPrintsAsMaskColumn()
    {
        var file = HbaFile.Parse("host all all 10.0.0.5 255.0.0.255 md5", "hba.conf");
        Assert.Equal("10.0.0.5 255.0.0.255", file.Rules[0].Address!.ToString());
        Assert.True(file.Rules[0].Matches(false, false, "d", "u", IPAddress.Parse("10.9.9.5")));
        Assert.False(file.Rules[0].Matches(false, false, "d", "u", IPAddress.Parse("10.9.9.6")));
    }

    [Fact]
    public void ReplicationConnectionsNeedTheReplicationKeyword()
    {
        var file = HbaFile.Parse("local all all trust\nlocal replication repl peer\n", "hba.conf");
        Assert.Equal(HbaMethod.Trust, file.Match(true, false, "replication", "repl", null, isReplication: false)!.Method);
        Assert.Equal(HbaMethod.Peer, file.Match(true, false, "anything", "repl", null, isReplication: true)!.Method);
        Assert.Null(file.Match(true, false, "anything", "other", null, isReplication: true));
    }

    [Fact]
    public void ValidateMapsChecksIdentFile()
    {
        var file = HbaFile.Parse("local all all peer map=local\nhostssl all all all cert map=certs\n", "hba.conf");
        var ident = IdentMap.Parse("local root postgres\ncerts \"CN x\" all\n", "ident.conf");
        file.ValidateMaps(ident);

        var missing = IdentMap.Parse("local root postgres\n", "ident.conf");
        var e = Assert.Throws<FormatException>(() => file.ValidateMaps(missing));
        Assert.Equal("hba.conf:2: ident map 'certs' not found in ident.conf", e.Message);

        var none = Assert.Throws<FormatException>(() => file.ValidateMaps(null));
        Assert.StartsWith("hba.conf:1: map=local needs auth_ident_file", none.Message, StringComparison.Ordinal);

        HbaFile.Parse("local all all peer\n", "hba.conf").ValidateMaps(null);
    }
}
