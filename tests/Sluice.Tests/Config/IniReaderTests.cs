namespace Sluice.Config;

public sealed class IniReaderTests
{
    [Fact]
    public void CommentsAndBlankLines_AreSkipped()
    {
        var entries = IniReader.ReadText("; one\n  # two\n\n[pgbouncer]\r\n  listen_port = 7000  \n", "a.ini");

        Assert.Collection(
            entries,
            e => Assert.Equal(("pgbouncer", (string?)null, 4), (e.Name, e.Value, e.Line)),
            e => Assert.Equal(("listen_port", (string?)"7000", 5), (e.Name, e.Value, e.Line)));
    }

    [Fact]
    public void Value_IsRestOfLine_IncludingSemicolonsAndHashes()
    {
        var entry = Assert.Single(IniReader.ReadText("connect_query = SELECT 1; -- # not a comment", "a.ini"));

        Assert.Equal("SELECT 1; -- # not a comment", entry.Value);
    }

    [Fact]
    public void EmptyValue_IsAllowed()
    {
        var entry = Assert.Single(IniReader.ReadText("foodb =", "a.ini"));

        Assert.Equal(("foodb", ""), (entry.Name, entry.Value));
    }

    [Fact]
    public void QuotedKey_UnescapesDoubledQuotes()
    {
        var entry = Assert.Single(IniReader.ReadText("\"my \"\"odd\"\" db\" = host=x", "a.ini"));

        Assert.Equal("my \"odd\" db", entry.Name);
        Assert.True(entry.QuotedName);
        Assert.Equal("host=x", entry.Value);
    }

    [Fact]
    public void SectionHeader_MayCarryTrailingComment()
    {
        var entry = Assert.Single(IniReader.ReadText("[databases] ; targets", "a.ini"));

        Assert.True(entry.IsSection);
        Assert.Equal("databases", entry.Name);
    }

    [Theory]
    [InlineData("just words")]
    [InlineData("key value")]
    [InlineData("[unclosed")]
    [InlineData("\"unterminated = x")]
    [InlineData("= value")]
    public void SyntaxErrors_NameFileAndLine(string badLine)
    {
        var e = Assert.Throws<ConfigException>(() => IniReader.ReadText($"[pgbouncer]\n{badLine}\n", "bad.ini"));

        Assert.Equal("bad.ini", e.File);
        Assert.Equal(2, e.Line);
        Assert.StartsWith("bad.ini:2: syntax error", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Include_SplicesFileInPlace_WithItsOwnLineNumbers()
    {
        using var dir = new TempConfigDir();
        var inner = dir.Write("inner.ini", "; header\nmax_client_conn = 500\n");

        var entries = IniReader.ReadText($"[pgbouncer]\n%include {inner}\nlisten_port = 1\n", "main.ini");

        Assert.Equal(["pgbouncer", "max_client_conn", "listen_port"], entries.Select(e => e.Name));
        Assert.Equal((inner, 2), (entries[1].File, entries[1].Line));
        Assert.Equal(("main.ini", 3), (entries[2].File, entries[2].Line));
    }

    [Fact]
    public void Include_Nested()
    {
        using var dir = new TempConfigDir();
        var c = dir.Write("c.ini", "c = 3\n");
        var b = dir.Write("b.ini", $"b = 2\n%include {c}\n");

        var entries = IniReader.ReadText($"a = 1\n%include {b}\n", "a.ini");

        Assert.Equal(["a", "b", "c"], entries.Select(e => e.Name));
    }

    [Fact]
    public void Include_MissingFile_NamesIncludingLine()
    {
        var e = Assert.Throws<ConfigException>(() => IniReader.ReadText("[pgbouncer]\n%include /nonexistent/sluice.ini\n", "main.ini"));

        Assert.Equal(("main.ini", 2), (e.File, e.Line));
        Assert.Contains("/nonexistent/sluice.ini", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Include_SelfRecursion_StopsAtDepthLimit()
    {
        using var dir = new TempConfigDir();
        var self = System.IO.Path.Combine(dir.Path, "self.ini");
        File.WriteAllText(self, $"x = 1\n%include {self}\n");

        var e = Assert.Throws<ConfigException>(() => IniReader.ReadFile(self));

        Assert.Contains("nested too deeply", e.Message, StringComparison.Ordinal);
        Assert.Equal((self, 2), (e.File, e.Line));
    }

    [Fact]
    public void Include_TenLevelsDeep_IsAllowed()
    {
        using var dir = new TempConfigDir();
        var next = dir.Write("f10.ini", "deepest = 1\n");
        for (var i = 9; i >= 1; i--)
        {
            next = dir.Write($"f{i}.ini", $"%include {next}\n");
        }

        var entries = IniReader.ReadText($"%include {next}\n", "top.ini");

        Assert.Equal("deepest", Assert.Single(entries).Name);
    }
}
