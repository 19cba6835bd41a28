using Sluice.Admin;
using Sluice.Testing.Wire;

namespace Sluice.Tests.Admin;

/// <summary>SUSPEND / RESUME on the console, and the refusals PgBouncer gives.</summary>
public sealed class SuspendCommandTests
{
    private static Dictionary<string, string?> State(Sluice.Hosting.Pooler pooler) =>
        AdminTestKit.Records(AdminTestKit.Run(pooler, "SHOW STATE")).ToDictionary(r => r["key"]!, r => r["value"]);

    [Fact]
    public void Suspend_ShowsSuspended_ResumeEndsIt()
    {
        var pooler = AdminTestKit.NewPooler();

        var reply = Assert.Single(AdminTestKit.Run(pooler, "SUSPEND"));
        Assert.Equal('C', reply.Type);
        Assert.True(pooler.IsSuspended);
        Assert.Equal("yes", State(pooler)["suspended"]);
        Assert.Equal("no", State(pooler)["paused"]);
        Assert.Equal("no", State(pooler)["active"]);

        Assert.Equal('C', Assert.Single(AdminTestKit.Run(pooler, "RESUME")).Type);
        Assert.False(pooler.IsSuspended);
        Assert.Equal("yes", State(pooler)["active"]);
    }

    [Theory]
    [InlineData("SUSPEND")]
    [InlineData("PAUSE")]
    public void SecondSuspendOrPause_IsRefused(string second)
    {
        var pooler = AdminTestKit.NewPooler();
        AdminTestKit.Run(pooler, "SUSPEND");

        var error = Assert.Single(AdminTestKit.Run(pooler, second)).Fields;

        Assert.Equal("already suspended/paused", error['M']);
    }

    [Fact]
    public void Suspend_WithAPausedDatabase_IsRefused()
    {
        var pooler = AdminTestKit.NewPooler();
        AdminTestKit.Run(pooler, "PAUSE appdb");

        var error = Assert.Single(AdminTestKit.Run(pooler, "SUSPEND")).Fields;

        Assert.Equal("cannot suspend with paused databases", error['M']);
        Assert.False(pooler.IsSuspended);
    }

    [Fact]
    public void Suspend_TakesNoArgument()
    {
        var error = Assert.Single(AdminTestKit.Run(AdminTestKit.NewPooler(), "SUSPEND now")).Fields;

        Assert.StartsWith("invalid command", error['M'], StringComparison.Ordinal);
    }
}
