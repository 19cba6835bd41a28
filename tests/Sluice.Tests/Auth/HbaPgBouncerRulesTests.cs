using System.Net;

namespace Sluice.Auth;

/// <summary>
/// PgBouncer's own HBA rule set and evaluation table (test/hba_test.rules + test/hba_test.eval),
/// restated as data: every (expected, db, user, address, modifier) row must give the same result.
/// "reject" in the table means "no rule, or a reject rule" (PgBouncer's test treats both alike).
/// </summary>
public sealed class HbaPgBouncerRulesTests
{
    internal const string Rules =
        "# METHOD: trust, reject, md5, password, peer, cert\n" +
        "\n" +
        "# local      DATABASE  USER  METHOD  [OPTIONS]\n" +
        "# host       DATABASE  USER  ADDRESS  METHOD  [OPTIONS]\n" +
        "\n" +
        "# weird whitespace must not break parsing\n" +
        "# ws\n" +
        " \t \t \t\n" +
        "\t\t\t# z\n" +
        "\n" +
        "host\t\tpgbouncer\tpgbouncer\t127.0.0.1/32\ttrust\n" +
        "\n" +
        "local\t\tdbp\t\tall\t\t\t\t\tpeer\n" +
        "local\t\tall\t\tuserp\t\t\t\t\tpassword\n" +
        "local\t\tdbz\t\tuserz\t\t\t\t\ttrust\n" +
        "local\t\tdbs\t\tusers\t\t\t\t\tscram-sha-256\n" +
        "local\t\tall\t\tall\t\t\t\t\tmd5\n" +
        "\n" +
        "hostssl\t\tall\t\tall\t10.0.0.0/8\t\t\tcert\n" +
        "hostnossl\tall\t\tall\t11.0.0.0/8\t\t\tmd5\n" +
        "host\t\tall\t\tall\t127.0.0.0  255.255.255.0\tpassword\n" +
        "\n" +
        "host\t\tdb1\t\tall\t0.0.0.0/0\t\t\tmd5\n" +
        "host\t\tall\t\tuser1\t15.0.0.0/8\t\t\tmd5\n" +
        "\n" +
        "host\t\ttmp1,all\tuser1,user2 , user3\t\t\t16.0.0.0/8\tmd5\n" +
        "host\t\ttmp2,all\tu1,u2,u3,u4,u5,u6,u7,u8,u9,u10,u11,u2\t17.0.0.0/8\tmd5\n" +
        "host\t\td1,d2,d3,d4,d5,d6,d7,d8,d9,d10,d11\tt18user\t\t18.0.0.0/8\ttrust # comment\n" +
        "\n" +
        "host\t\t\"all\"\t\t\"all\"\t\t19.0.0.0/8\tcert\n" +
        "host\t\t\"q1\"\"q2\"\t\"a , b\"\t\t19.0.0.0/8\tcert\n" +
        "\n" +
        "host\t\tmdb\tmuser\t\t199.199.199.199/32\tcert\n" +
        "\n" +
        "host\t\tmdb2\tmuser\t\t128.0.0.0/9\t\ttrust\n" +
        "host\t\tmdb2\tmuser\t\t128.0.0.0/8\t\tmd5\n" +
        "host\t\tmdb2\tmuser\t\t128.0.0.0/7\t\tcert\n" +
        "host\t\tmdb2\tmuser\t\t128.0.0.0/6\t\tpassword\n" +
        "host\t\tmdb2\tmuser\t\t128.0.0.0/5\t\tcert\n" +
        "host\t\tmdb2\tmuser\t\t128.0.0.0/4\t\ttrust\n" +
        "host\t\tmdb2\tmuser\t\t128.0.0.0/3\t\tmd5\n" +
        "host\t\tmdb2\tmuser\t\t128.0.0.0/2\t\tpassword\n" +
        "host\t\tmdb2\tmuser\t\t128.0.0.0/1\t\tcert\n" +
        "\n" +
        "host\t\tmdb\tmuser\t\tff11::0/16\t\tmd5\n" +
        "host\t\tmdb\tmuser\t\tff20::/12\t\tmd5\n" +
        "host\t\tmdb\tmuser\t\t::1/128\t\t\ttrust\n" +
        "\n" +
        "host\t\tmdb3\tmuser\t\tall\t\t\tscram-sha-256\n" +
        "host\t\tmdb4\tmuser\t\tall\t\t\treject\n" +
        "\n" +
        "host\t\treplication\tadmin\t::1/128\t\t\ttrust\n" +
        "host\t\tdb2,replication\tadmin2\t::1/128\t\t\ttrust\n";

    // expected, database, user, address ("unix" = Unix socket), modifier ("tls", "replication" or "").
    public static TheoryData<string, string, string, string, string> Eval => new()
    {
        // local
        { "md5", "db", "user", "unix", "" },
        { "peer", "dbp", "user", "unix", "" },
        { "password", "db", "userp", "unix", "" },
        { "trust", "dbz", "userz", "unix", "" },
        { "scram-sha-256", "dbs", "users", "unix", "" },
        // hostssl
        { "cert", "db", "user", "10.1.1.1", "tls" },
        { "reject", "db", "user", "10.1.1.1", "" },
        { "reject", "db", "user", "13.1.1.1", "" },
        // hostnossl
        { "reject", "db", "user", "11.1.1.1", "tls" },
        { "md5", "db", "user", "11.1.1.1", "" },
        { "reject", "db", "user", "13.1.1.1", "tls" },
        // host with a netmask column
        { "password", "db", "user", "127.0.0.2", "tls" },
        { "password", "db", "user", "127.0.0.3", "" },
        { "reject", "db", "user", "127.0.1.4", "" },
        // database filter
        { "reject", "db1x", "user", "127.0.1.4", "" },
        { "md5", "db1", "user", "127.0.1.4", "" },
        // user filter
        { "md5", "db1z", "user1", "15.0.0.1", "" },
        { "reject", "db1z", "user2", "15.0.0.1", "" },
        // user lists with spaces around commas
        { "reject", "db2", "user", "16.0.0.1", "" },
        { "md5", "db2", "user1", "16.0.0.1", "" },
        { "md5", "db2", "user2", "16.0.0.1", "" },
        { "md5", "db2", "user3", "16.0.0.1", "" },
        { "reject", "db2", "user4", "16.0.0.1", "" },
        // many users
        { "md5", "db2", "u1", "17.0.0.1", "" },
        { "md5", "db2", "u2", "17.0.0.1", "" },
        { "md5", "db2", "u3", "17.0.0.1", "" },
        { "md5", "db2", "u4", "17.0.0.1", "" },
        { "md5", "db2", "u5", "17.0.0.1", "" },
        { "md5", "db2", "u6", "17.0.0.1", "" },
        { "md5", "db2", "u7", "17.0.0.1", "" },
        { "md5", "db2", "u8", "17.0.0.1", "" },
        { "md5", "db2", "u9", "17.0.0.1", "" },
        { "md5", "db2", "u10", "17.0.0.1", "" },
        { "md5", "db2", "u11", "17.0.0.1", "" },
        // many databases
        { "reject", "d1", "user", "18.0.0.2", "" },
        { "trust", "d1", "t18user", "18.0.0.2", "" },
        { "trust", "d2", "t18user", "18.0.0.2", "" },
        { "trust", "d3", "t18user", "18.0.0.2", "" },
        { "trust", "d4", "t18user", "18.0.0.2", "" },
        { "trust", "d5", "t18user", "18.0.0.2", "" },
        { "trust", "d6", "t18user", "18.0.0.2", "" },
        { "trust", "d7", "t18user", "18.0.0.2", "" },
        { "trust", "d8", "t18user", "18.0.0.2", "" },
        { "trust", "d9", "t18user", "18.0.0.2", "" },
        { "trust", "d10", "t18user", "18.0.0.2", "" },
        { "trust", "d11", "t18user", "18.0.0.2", "" },
        // quoting: "all" is a literal name
        { "reject", "db", "t19user", "19.0.0.2", "" },
        { "cert", "all", "all", "19.0.0.2", "" },
        { "cert", "q1\"q2", "a , b", "19.0.0.2", "" },
        // bit masks
        { "cert", "mdb", "muser", "199.199.199.199", "" },
        { "reject", "mdb", "muser", "199.199.199.198", "" },
        { "reject", "mdb", "muser", "199.199.199.200", "" },
        { "cert", "mdb2", "muser", "254.1.1.1", "" },
        // IPv6
        { "md5", "mdb", "muser", "ff11:2::1", "" },
        { "md5", "mdb", "muser", "ff22:3::1", "" },
        { "trust", "mdb", "muser", "::1", "" },
        { "reject", "mdb", "muser", "::2", "" },
        // "all" address
        { "scram-sha-256", "mdb3", "muser", "1.2.3.4", "" },
        { "scram-sha-256", "mdb3", "muser", "face::1", "" },
        { "reject", "mdb4", "muser", "1.2.3.4", "" },
        { "reject", "mdb4", "muser", "face::1", "" },
        // replication
        { "reject", "mdb", "muser", "::1", "replication" },
        { "reject", "db", "userp", "unix", "replication" },
        { "reject", "replication", "userp", "unix", "replication" },
        { "trust", "db", "admin", "::1", "replication" },
        { "trust", "replication", "admin", "::1", "replication" },
        { "reject", "db", "admin", "::1", "" },
        { "reject", "replication", "admin", "::1", "" },
        { "trust", "db", "admin2", "::1", "replication" },
        { "trust", "replication", "admin2", "::1", "replication" },
        { "trust", "db2", "admin2", "::1", "" },
        { "reject", "replication", "admin2", "::1", "" },
    };

    private static readonly HbaFile File = HbaFile.Parse(Rules, "hba_test.rules");

    [Theory]
    [MemberData(nameof(Eval))]
    public void MatchesPgBouncerEvaluationTable(string expected, string database, string user, string address, string modifier)
    {
        var unix = address == "unix";
        var rule = File.Match(
            isUnixSocket: unix,
            isTls: modifier == "tls",
            database,
            user,
            unix ? null : IPAddress.Parse(address),
            isReplication: modifier == "replication");

        var actual = rule is null ? "reject" : HbaFile.MethodName(rule.Method);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void ParsesEveryRuleLineWithItsLineNumber()
    {
        Assert.Equal(33, File.Rules.Count);
        Assert.Empty(File.Warnings);
        var first = File.Rules[0];
        Assert.Equal(11, first.Line);
        Assert.Equal(HbaConnectionType.Host, first.Type);
        Assert.Equal("host \"pgbouncer\" \"pgbouncer\" 127.0.0.1/32 trust", first.ToString());
        var masked = File.Rules.Single(r => r.Method == HbaMethod.Password && r.Type == HbaConnectionType.Host && r.Address!.Network!.Equals(IPAddress.Parse("127.0.0.0")));
        Assert.Equal(IPAddress.Parse("255.255.255.0"), masked.Address!.Mask);
        Assert.Equal("127.0.0.0/24", masked.Address.ToString());
    }
}
