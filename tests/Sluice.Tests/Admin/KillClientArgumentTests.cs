using Sluice.Admin;
using Sluice.Testing.Wire;

namespace Sluice.Tests.Admin;

/// <summary>KILL_CLIENT's argument and error texts, as PgBouncer's suite matches them.</summary>
public sealed class KillClientArgumentTests
{
    [Theory]
    [InlineData("42", 42L)]
    [InlineData("  7", 7L)]
    [InlineData("+5", 5L)]
    [InlineData("12abc", 12L)]
    [InlineData("0x1f", 0L)]   // sscanf("%llu") stops at the x, as in PgBouncer
    public void LeadingNumber_IsTheId(string text, long expected)
    {
        Assert.True(ControlCommands.TryParseLeadingId(text, out var id));
        Assert.Equal(expected, id);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("non_existant_client_id")]
    [InlineData("-1")]
    [InlineData("99999999999999999999")]
    public void NoUsableNumber_IsRefused(string? text) => Assert.False(ControlCommands.TryParseLeadingId(text, out _));

    [Fact]
    public void TextArgument_IsAnInvalidPointer()
    {
        var error = Assert.Single(AdminTestKit.Run(AdminTestKit.NewPooler(), "KILL_CLIENT non_existant_client_id")).Fields;
        Assert.Equal("invalid client pointer supplied", error['M']);
    }

    [Fact]
    public void UnknownId_IsNotFound()
    {
        var error = Assert.Single(AdminTestKit.Run(AdminTestKit.NewPooler(), "KILL_CLIENT 1000")).Fields;
        Assert.Equal("client not found", error['M']);
    }
}
