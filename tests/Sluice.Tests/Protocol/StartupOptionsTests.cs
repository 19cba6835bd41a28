namespace Sluice.Protocol;

public sealed class StartupOptionsTests
{
    private static List<KeyValuePair<string, string>>? Parse(string options)
    {
        var settings = new List<KeyValuePair<string, string>>();
        return StartupOptions.TryParse(options, settings) ? settings : null;
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Blank_HasNoSettings(string options)
    {
        Assert.Equal([], Parse(options));
    }

    [Theory]
    [InlineData("-c datestyle=ISO")]
    [InlineData("  -c    datestyle=ISO  ")]
    [InlineData("-cdatestyle=ISO")]
    [InlineData("--datestyle=ISO")]
    public void SpellingsOfOneSetting(string options)
    {
        Assert.Equal([new("datestyle", "ISO")], Parse(options));
    }

    [Fact]
    public void SeveralSettings_InOrder_WithEscapes()
    {
        Assert.Equal(
            [new("timezone", "Europe/Lisbon"), new("datestyle", "German, YMD")],
            Parse(@"-c t\imezone=\E\u\r\o\pe/Lisbon  -c    dat\estyle\=\Ge\rman,\ YMD"));
    }

    [Fact]
    public void ValueMayHoldEqualsSigns()
    {
        Assert.Equal([new("search_path", "a=b")], Parse("-c search_path=a=b"));
    }

    [Theory]
    [InlineData("-d")]
    [InlineData("-c timezone")]
    [InlineData("-c a=b -d 5")]
    [InlineData("datestyle=ISO")]
    public void AnythingButSettings_IsRefused(string options)
    {
        Assert.Null(Parse(options));
    }
}
