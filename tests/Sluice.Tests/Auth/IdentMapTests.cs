namespace Sluice.Auth;

public sealed class IdentMapTests
{
    // PgBouncer's test/pgident.conf.
    private const string PgBouncerIdent =
        "# PostgreSQL User Name Maps\n" +
        "# =========================\n" +
        "\n" +
        "# MAPNAME       SYSTEM-USERNAME         PG-USERNAME\n" +
        "test\t\tpgbouncer.acme.org\tsomeuser\n" +
        "test\t\tpgbouncer.acme.org\tanotheruser\n" +
        "test2\t\t\"bouncer\"\t\tall\n" +
        "test2\t\tpgbouncer.acme.org\t\"anotheruser\"\n";

    // map, system user, database user, allowed
    public static TheoryData<string, string, string, bool> PgBouncerCases => new()
    {
        { "test", "pgbouncer.acme.org", "someuser", true },
        { "test", "pgbouncer.acme.org", "anotheruser", true },
        { "test", "pgbouncer.acme.org", "bouncer", false },
        { "test", "bouncer", "someuser", false },
        { "test2", "bouncer", "someuser", true },
        { "test2", "bouncer", "bouncer", true },
        { "test2", "bouncer", "all", true },
        { "test2", "pgbouncer.acme.org", "anotheruser", true },
        { "test2", "pgbouncer.acme.org", "someuser", false },
        { "test3", "bouncer", "someuser", false },
        { "TEST", "pgbouncer.acme.org", "someuser", false },
        { "test", "PGBOUNCER.acme.org", "someuser", false },
    };

    private static readonly IdentMap PgBouncer = IdentMap.Parse(PgBouncerIdent, "pgident.conf");

    [Theory]
    [MemberData(nameof(PgBouncerCases))]
    public void PgBouncerIdentFile(string map, string systemUser, string dbUser, bool allowed) =>
        Assert.Equal(allowed, PgBouncer.Allows(map, systemUser, dbUser));

    [Fact]
    public void ListsMapNames()
    {
        Assert.Equal(new[] { "test", "test2" }, PgBouncer.MapNames.Order(StringComparer.Ordinal).ToArray());
        Assert.True(PgBouncer.ContainsMap("test2"));
        Assert.False(PgBouncer.ContainsMap("nope"));
        Assert.Equal("pgident.conf", PgBouncer.FileName);
        Assert.False(IdentMap.Empty.Allows("test", "a", "b"));
    }

    [Fact]
    public void QuotedAllIsALiteralUserName()
    {
        var map = IdentMap.Parse("m root \"all\"\n", "ident");
        Assert.True(map.Allows("m", "root", "all"));
        Assert.False(map.Allows("m", "root", "postgres"));
    }

    [Fact]
    public void QuotedNamesKeepSpacesQuotesAndHashes()
    {
        var map = IdentMap.Parse("certs \"CN=Jane \"\"J\"\" Doe # x\" \"jane doe\" # comment\n", "ident");
        Assert.True(map.Allows("certs", "CN=Jane \"J\" Doe # x", "jane doe"));
    }

    [Fact]
    public void RegexLookingNamesAreLiteral()
    {
        var map = IdentMap.Parse("guo /^.*$/  robtnik\n", "ident");
        Assert.False(map.Allows("guo", "anyone", "robtnik"));
        Assert.True(map.Allows("guo", "/^.*$/", "robtnik"));
    }

    [Fact]
    public void CommentsBlankLinesAndContinuation()
    {
        var map = IdentMap.Parse("\n# c\n  \t\nm \\\n  sys \\\n  db\r\nm sys2 db2 # trailing\r\n", "ident");
        Assert.True(map.Allows("m", "sys", "db"));
        Assert.True(map.Allows("m", "sys2", "db2"));
        Assert.False(map.Allows("m", "sys", "db2"));
    }

    // text, problem, line
    public static TheoryData<string, string, int> Errors => new()
    {
        { "m", "missing system user name and database user name", 1 },
        { "# c\nm sys", "missing database user name", 2 },
        { "m sys db extra", "unexpected 'extra' after the database user name", 1 },
        { "m sys db,db2", "unexpected ','", 1 },
        { "m \"sys db", "unterminated quoted string", 1 },
        { "\"\" sys db", "empty map name", 1 },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void RejectsMalformedLines(string text, string problem, int line)
    {
        var e = Assert.Throws<FormatException>(() => IdentMap.Parse(text, "pg_ident.conf"));
        Assert.StartsWith($"pg_ident.conf:{line}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadReadsFromDisk()
    {
        var path = Path.Combine(Path.GetTempPath(), "sluice-ident-" + Guid.NewGuid().ToString("N") + ".conf");
        File.WriteAllText(path, "peermap postgres all\n");
        try
        {
            var map = IdentMap.Load(path);
            Assert.True(map.Allows("peermap", "postgres", "anyone"));
            Assert.Equal(path, map.FileName);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
