using System.Net;

namespace Sluice.Auth;

/// <summary>@file includes in the database and user columns.</summary>
public sealed class HbaIncludeTests
{
    private static Func<string, string> Files(Dictionary<string, string> files, List<string>? reads = null) => path =>
    {
        reads?.Add(path);
        return files.TryGetValue(path, out var text) ? text : throw new FileNotFoundException("no such file", path);
    };

    private static bool Allowed(HbaFile file, string db, string user) =>
        file.Match(false, false, db, user, IPAddress.Parse("10.0.0.1")) is { Method: not HbaMethod.Reject };

    [Fact]
    public void IncludesResolveRelativeToTheHbaFileDirectory()
    {
        var reads = new List<string>();
        var files = new Dictionary<string, string>
        {
            ["/etc/pgbouncer/users.txt"] = "alice, bob\n# comment\ncarol \"dave smith\"\n\n",
            ["/etc/pgbouncer/dbs/list"] = "app1\napp2,app3 # trailing comment\n",
        };

        var file = HbaFile.Parse("host @dbs/list @users.txt all md5\n", "/etc/pgbouncer/hba.conf", Files(files, reads));

        Assert.Equal(new[] { "/etc/pgbouncer/dbs/list", "/etc/pgbouncer/users.txt" }, reads.ToArray());
        Assert.True(Allowed(file, "app1", "alice"));
        Assert.True(Allowed(file, "app3", "dave smith"));
        Assert.True(Allowed(file, "app2", "carol"));
        Assert.False(Allowed(file, "app4", "alice"));
        Assert.False(Allowed(file, "app1", "dave"));
        Assert.False(Allowed(file, "app1", "smith"));
    }

    [Fact]
    public void IncludesCombineWithNamesAndKeywords()
    {
        var files = new Dictionary<string, string>
        {
            ["conf/admins"] = "root\n",
            ["conf/more"] = "all\n",
            ["/abs/dbs"] = "sameuser\n",
        };

        var file = HbaFile.Parse(
            "host @/abs/dbs extra,@admins all trust\n" +
            "host app @more all md5\n",
            "conf/hba.conf",
            Files(files));

        Assert.Equal(HbaMethod.Trust, file.Match(false, false, "root", "root", IPAddress.Loopback)!.Method);
        Assert.Equal(HbaMethod.Trust, file.Match(false, false, "extra", "extra", IPAddress.Loopback)!.Method);
        Assert.Null(file.Match(false, false, "x", "root", IPAddress.Loopback));
        Assert.Null(file.Match(false, false, "other", "other", IPAddress.Loopback));
        Assert.Equal(HbaMethod.Md5, file.Match(false, false, "app", "anyone", IPAddress.Loopback)!.Method);
        Assert.True(file.Rules[1].Users.All);
        Assert.True(file.Rules[0].Databases.SameUser);
    }

    [Fact]
    public void BareFileNameResolvesToTheIncludeNameItself()
    {
        var reads = new List<string>();
        HbaFile.Parse("host all @users all md5", "hba.conf", Files(new() { ["users"] = "u" }, reads));
        Assert.Equal(new[] { "users" }, reads.ToArray());
    }

    [Fact]
    public void NestedIncludesResolveRelativeToTheIncludingFile()
    {
        var files = new Dictionary<string, string>
        {
            ["/a/outer"] = "one @sub/inner",
            ["/a/sub/inner"] = "two @deeper",
            ["/a/sub/deeper"] = "three",
        };

        var file = HbaFile.Parse("host all @outer all md5", "/a/hba.conf", Files(files));
        Assert.Equal(new[] { "one", "three", "two" }, file.Rules[0].Users.Names.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void QuotedAtSignIsALiteralName()
    {
        var file = HbaFile.Parse("host all \"@users\" all md5", "hba.conf", _ => throw new InvalidOperationException("must not read"));
        Assert.True(Allowed(file, "d", "@users"));
    }

    [Fact]
    public void MissingIncludeFileIsAnError()
    {
        var e = Assert.Throws<FormatException>(() => HbaFile.Parse("# x\nhost all @nope all md5", "/etc/hba.conf", Files(new())));
        Assert.StartsWith("/etc/hba.conf:2: cannot read @file '/etc/nope'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ErrorsInsideIncludesNameTheIncludeAndItsLine()
    {
        var files = new Dictionary<string, string>
        {
            ["/x/users"] = "ok\n+group\n",
            ["/x/outer"] = "fine\n\n@users",
            ["/x/dbs"] = "samerole",
            ["/x/quote"] = "\"open",
        };

        var e = Assert.Throws<FormatException>(() => HbaFile.Parse("host all @users all md5", "/x/hba", Files(files)));
        Assert.Equal("/x/hba:1: in @file '/x/users' line 2: group membership '+group' is not supported", e.Message);

        e = Assert.Throws<FormatException>(() => HbaFile.Parse("\nhost all @outer all md5", "/x/hba", Files(files)));
        Assert.Equal("/x/hba:2: in @file '/x/outer' line 3: in @file '/x/users' line 2: group membership '+group' is not supported", e.Message);

        e = Assert.Throws<FormatException>(() => HbaFile.Parse("host @dbs all all md5", "/x/hba", Files(files)));
        Assert.Contains("'samerole' is not supported", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<FormatException>(() => HbaFile.Parse("host @quote all all md5", "/x/hba", Files(files)));
        Assert.Contains("unterminated quoted string", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KeywordsOnlyValidInTheDatabaseColumnAreRejectedInUserIncludes()
    {
        var e = Assert.Throws<FormatException>(() => HbaFile.Parse("host all @u all md5", "hba", Files(new() { ["u"] = "sameuser" })));
        Assert.Contains("only a keyword in the database field", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CyclicIncludesStopAtTheDepthLimit()
    {
        var e = Assert.Throws<FormatException>(() => HbaFile.Parse("host all @loop all md5", "/d/hba", Files(new() { ["/d/loop"] = "x @loop" })));
        Assert.Contains("nested more than 10 deep", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadReadsIncludesFromDisk()
    {
        var dir = Directory.CreateTempSubdirectory("sluice-hba-");
        try
        {
            var hba = Path.Combine(dir.FullName, "pgbouncer_hba.conf");
            Directory.CreateDirectory(Path.Combine(dir.FullName, "lists"));
            File.WriteAllText(Path.Combine(dir.FullName, "lists", "users"), "alice\nbob\n");
            File.WriteAllText(hba, "local all all peer\nhost all @lists/users 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 reject\n");

            var file = HbaFile.Load(hba);

            Assert.Equal(hba, file.FileName);
            Assert.Equal(3, file.Rules.Count);
            Assert.Equal(HbaMethod.ScramSha256, file.Match(false, false, "d", "bob", IPAddress.Loopback)!.Method);
            Assert.Null(file.Match(false, false, "d", "carol", IPAddress.Loopback));
            Assert.Equal(HbaMethod.Peer, file.Match(true, false, "d", "carol", null)!.Method);

            File.Delete(Path.Combine(dir.FullName, "lists", "users"));
            var e = Assert.Throws<FormatException>(() => HbaFile.Load(hba));
            Assert.StartsWith(hba + ":2: cannot read @file", e.Message, StringComparison.Ordinal);
            Assert.Throws<FileNotFoundException>(() => HbaFile.Load(Path.Combine(dir.FullName, "missing.conf")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
