using Sluice.Admin;
using Sluice.Config;
using Sluice.Testing.Wire;

namespace Sluice.Tests.Admin;

/// <summary>Who may run what (pgbouncer.md §3.1): SHOW needs stats access, everything else admin.</summary>
public sealed class AdminAccessTests
{
    [Theory]
    [InlineData("admin", false, "Admin")]
    [InlineData("stats", false, "Stats")]
    [InlineData("someone", false, "None")]
    [InlineData("pgbouncer", true, "Admin")]
    public void Resolve_FollowsTheLists(string user, bool sameUserUnixSocket, string expected)
    {
        var config = ConfigLoader.LoadText(AdminTestKit.Ini);
        Assert.Equal(expected, AdminAccess.Resolve(config, user, sameUserUnixSocket).ToString());
    }

    [Fact]
    public void AuthTypeAny_GivesEveryoneStats()
    {
        var config = ConfigLoader.LoadText("[pgbouncer]\nauth_type = any\nadmin_users = admin\n");
        Assert.Equal(AdminAccessLevel.Stats, AdminAccess.Resolve(config, "someone", false));
        Assert.Equal(AdminAccessLevel.Admin, AdminAccess.Resolve(config, "admin", false));
    }

    [Theory]
    [InlineData("RELOAD")]
    [InlineData("SHUTDOWN")]
    [InlineData("PAUSE")]
    [InlineData("KILL_CLIENT 1")]
    [InlineData("SET default_pool_size = 5")]
    [InlineData("SHOW FDS")]
    public void StatsUser_NeedsAdminFor(string command)
    {
        var pooler = AdminTestKit.NewPooler();
        var session = AdminTestKit.Session(pooler, "stats", AdminAccessLevel.Stats);

        var messages = AdminTestKit.Run(pooler, command, session);

        var error = Assert.Single(messages).Fields;
        Assert.Equal("ERROR", error['S']);
        Assert.Equal("08P01", error['C']);
        Assert.Equal("admin access needed", error['M']);
    }

    [Theory]
    [InlineData("SHOW POOLS")]
    [InlineData("SHOW STATS")]
    [InlineData("select version")]
    [InlineData("SHOW client_encoding")]
    [InlineData("SET client_encoding = 'UTF8'")]
    public void StatsUser_MayShow(string command)
    {
        var pooler = AdminTestKit.NewPooler();
        var session = AdminTestKit.Session(pooler, "stats", AdminAccessLevel.Stats);

        var messages = AdminTestKit.Run(pooler, command, session);

        Assert.DoesNotContain(messages, m => m.Type == 'E');
    }

    [Fact]
    public void UnknownCommand_IsInvalidForEveryone_BeforeAccessIsChecked()
    {
        var pooler = AdminTestKit.NewPooler();
        var session = AdminTestKit.Session(pooler, "stats", AdminAccessLevel.Stats);

        var error = Assert.Single(AdminTestKit.Run(pooler, "frobnicate now;", session)).Fields;

        Assert.Equal("invalid command 'frobnicate now;', use SHOW HELP;", error['M']);
    }

    [Theory]
    [InlineData("DISABLE")]
    [InlineData("KILL")]
    public void DatabaseCommands_NeedAKnownDatabase(string command)
    {
        var error = Assert.Single(AdminTestKit.Run(AdminTestKit.NewPooler(), command + " nosuchdb")).Fields;

        Assert.Equal("no such database: nosuchdb", error['M']);
    }

    [Fact]
    public void Reload_WithoutAConfigFile_FailsWithF0000()
    {
        var error = Assert.Single(AdminTestKit.Run(AdminTestKit.NewPooler(), "RELOAD")).Fields;

        Assert.Equal("F0000", error['C']);
        Assert.Equal("RELOAD failed, see logs for additional details", error['M']);
    }

    [Fact]
    public async Task Shutdown_RequestsAnImmediateStop_WithoutAReply()
    {
        var pooler = AdminTestKit.NewPooler();
        var messages = AdminTestKit.Run(pooler, "SHUTDOWN");

        Assert.Empty(messages);
        Assert.True(pooler.ShutdownRequested.IsCompleted);
        Assert.Equal(Sluice.Hosting.ShutdownMode.Immediate, await pooler.ShutdownRequested);
    }

    [Theory]
    [InlineData("SET default_pool_size = many", "SET failed: default_pool_size: invalid integer value \"many\"")]
    [InlineData("SET listen_port = 7000", "SET failed: listen_port cannot be changed while running")]
    [InlineData("SET no_such_key = 1", "SET failed: unknown parameter: no_such_key")]
    public void Set_IsValidated(string command, string message)
    {
        var error = Assert.Single(AdminTestKit.Run(AdminTestKit.NewPooler(), command)).Fields;

        Assert.Equal(message, error['M']);
    }

    [Fact]
    public void Set_OfAFakeParameter_IsIgnoredWithANotice()
    {
        var messages = AdminTestKit.Run(AdminTestKit.NewPooler(), "SET DateStyle TO 'ISO'");

        Assert.Equal(['N', 'C'], messages.Select(m => m.Type));
        Assert.Equal("SET ignored", messages[0].Fields['M']);
        Assert.Equal("SET", messages[1].Text);
    }
}
