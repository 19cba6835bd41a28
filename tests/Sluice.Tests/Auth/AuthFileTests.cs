namespace Sluice.Auth;

public sealed class AuthFileTests
{
    [Fact]
    public void ParsesUsersSecretsCommentsAndEscapes()
    {
        const string text =
            "; PgBouncer userlist\r\n" +
            "# another comment\n" +
            "\n" +
            "   \n" +
            "\"alice\" \"plain pass\"\n" +
            "\"bob\" \"md54489eed4ef8fbc7dd325ec0f630f2af1\" trailing fields are ignored\n" +
            "  \"say \"\"hi\"\"\"\t\"pa\"\"ss\"\r\n" +
            "\"carol\" \"" + ScramTestVectors.PostgresScramSecret + "\"\n" +
            "\"Alice\" \"\"";

        var file = AuthFile.Parse(text, "userlist.txt");

        Assert.Equal(5, file.Count);
        Assert.True(file.TryGet("alice", out var alice));
        Assert.Equal("plain pass", Assert.IsType<PlainSecret>(alice).Password);
        Assert.True(file.TryGet("bob", out var bob));
        Assert.IsType<Md5Secret>(bob);
        Assert.True(file.TryGet("say \"hi\"", out var quoted));
        Assert.Equal("pa\"ss", Assert.IsType<PlainSecret>(quoted).Password);
        Assert.True(file.TryGet("carol", out var carol));
        Assert.Equal(ScramTestVectors.PostgresScramSecret, Assert.IsType<ScramSecret>(carol).ToString());
        Assert.True(file.TryGet("Alice", out var upper));
        Assert.Equal(string.Empty, Assert.IsType<PlainSecret>(upper).Password);
    }

    [Fact]
    public void LookupIsOrdinalAndCaseSensitive()
    {
        var file = AuthFile.Parse("\"alice\" \"x\"", "f");
        Assert.True(file.TryGet("alice", out _));
        Assert.False(file.TryGet("ALICE", out _));
        Assert.False(file.TryGet("alice ", out _));
    }

    [Fact]
    public void LaterDuplicateWins()
    {
        var file = AuthFile.Parse("\"a\" \"one\"\n\"a\" \"two\"\n", "f");
        Assert.Equal(1, file.Count);
        Assert.True(file.TryGet("a", out var secret));
        Assert.Equal("two", Assert.IsType<PlainSecret>(secret).Password);
    }

    [Fact]
    public void EmptyHasNoUsers()
    {
        Assert.Equal(0, AuthFile.Empty.Count);
        Assert.False(AuthFile.Empty.TryGet("postgres", out _));
        Assert.Equal(0, AuthFile.Parse("; nothing\n\n", "f").Count);
    }

    [Theory]
    [InlineData("\"ok\" \"fine\"\n\"bob\" \"TopSecret99", 2, "unterminated password")]
    [InlineData("\"ok\" \"fine\"\n\n\"bob\" TopSecret99", 3, "expected double-quoted password")]
    [InlineData("bob \"TopSecret99\"", 1, "expected double-quoted user name")]
    [InlineData("\"bob \"TopSecret99\"", 1, "expected double-quoted password")]
    [InlineData("\"bob", 1, "unterminated user name")]
    [InlineData("\"\" \"TopSecret99\"", 1, "empty user name")]
    [InlineData("\"bob\"", 1, "expected double-quoted password")]
    public void MalformedLineNamesFileAndLineButNotSecret(string text, int line, string what)
    {
        var ex = Assert.Throws<FormatException>(() => AuthFile.Parse(text, "/etc/sluice/userlist.txt"));
        Assert.Equal($"/etc/sluice/userlist.txt:{line}: {what}", ex.Message);
        Assert.DoesNotContain("TopSecret99", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadReadsFileAndReportsItsPath()
    {
        var path = Path.Combine(Path.GetTempPath(), "sluice-authfile-" + Guid.NewGuid().ToString("N") + ".txt");
        try
        {
            File.WriteAllText(path, "\"alice\" \"pw\"\n\"bob\" \"Hidden123\n");
            var ex = Assert.Throws<FormatException>(() => AuthFile.Load(path));
            Assert.StartsWith(path + ":2: ", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("Hidden123", ex.Message, StringComparison.Ordinal);

            File.WriteAllText(path, "\"alice\" \"pw\"\n");
            var file = AuthFile.Load(path);
            Assert.True(file.TryGet("alice", out var secret));
            Assert.Equal("pw", Assert.IsType<PlainSecret>(secret).Password);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
