namespace Sluice.Config;

public sealed class ConnStringTests
{
    [Fact]
    public void SpaceSeparatedPairs_InOrder()
    {
        var pairs = ConnString.Parse("  host=db1   port = 5433\tdbname=app ", "x");

        Assert.Equal([new("host", "db1"), new("port", "5433"), new("dbname", "app")], pairs);
    }

    [Fact]
    public void QuotedValue_KeepsSpacesAndUnescapes()
    {
        var pairs = ConnString.Parse(@"connect_query='set a=1; set b=''x''' password='it\'s \\ok'", "x");

        Assert.Equal("set a=1; set b='x'", pairs[0].Value);
        Assert.Equal(@"it's \ok", pairs[1].Value);
    }

    [Fact]
    public void QuotedEmptyValue_IsAllowed()
    {
        Assert.Equal("", Assert.Single(ConnString.Parse("password=''", "x")).Value);
    }

    [Fact]
    public void Empty_GivesNoPairs()
    {
        Assert.Empty(ConnString.Parse("   ", "x"));
    }

    [Theory]
    [InlineData("port=1 host=  ", "empty value for connection parameter host")]
    [InlineData("host=", "empty value for connection parameter host")]
    [InlineData("host", "syntax error in connection string")]
    [InlineData("=x", "syntax error in connection string")]
    [InlineData("host='abc", "unterminated quoted value for connection parameter host")]
    public void Errors_NameOwner(string text, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ConnString.Parse(text, "mydb"));

        Assert.Equal("mydb", e.Key);
        Assert.StartsWith(expected, e.Detail, StringComparison.Ordinal);
    }
}
