namespace Sluice.Pooling;

public sealed class ReplicationModeTests
{
    [Theory]
    [InlineData("database", "Logical")]
    [InlineData("true", "Physical")]
    [InlineData("yes", "Physical")]
    [InlineData("on", "Physical")]
    [InlineData("1", "Physical")]
    [InlineData("T", "Physical")]
    [InlineData("Y", "Physical")]
    [InlineData("false", "None")]
    [InlineData("no", "None")]
    [InlineData("off", "None")]
    [InlineData("0", "None")]
    [InlineData("Database", "None")]   // only the exact word asks for a logical walsender
    [InlineData("o", "None")]          // on or off: ambiguous, so not a boolean
    [InlineData("maybe", "None")]
    [InlineData("", "None")]
    [InlineData(null, "None")]
    public void Parse_ReadsTheStartupParameterAsPostgresDoes(string? value, string expected) =>
        Assert.Equal(expected, ReplicationModes.Parse(value).ToString());

    [Theory]
    [InlineData("None", "no", "none")]
    [InlineData("Logical", "database", "logical")]
    [InlineData("Physical", "yes", "physical")]
    public void Names_AreThoseOfTheLoginLineAndShowColumn(string name, string startup, string show)
    {
        var mode = Enum.Parse<ReplicationMode>(name);
        Assert.Equal(startup, mode.StartupValue());
        Assert.Equal(show, mode.ShowName());
    }
}
