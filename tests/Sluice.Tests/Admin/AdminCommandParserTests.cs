using Sluice.Admin;

namespace Sluice.Tests.Admin;

public sealed class AdminCommandParserTests
{
    [Theory]
    [InlineData("SHOW POOLS", "SHOW", "POOLS")]
    [InlineData("show pools", "SHOW", "pools")]
    [InlineData("  Show   Pools ;  ", "SHOW", "Pools")]
    [InlineData("SHOW POOLS;", "SHOW", "POOLS")]
    [InlineData("select version", "SHOW", "version")]
    [InlineData("SELECT STATS;", "SHOW", "STATS")]
    [InlineData("RELOAD", "RELOAD", null)]
    [InlineData("reload;", "RELOAD", null)]
    [InlineData("PAUSE appdb", "PAUSE", "appdb")]
    [InlineData("pause \"My Db\"", "PAUSE", "My Db")]
    [InlineData("KILL \"a\"\"b\"", "KILL", "a\"b")]
    [InlineData("KILL_CLIENT 42", "KILL_CLIENT", "42")]
    [InlineData("shutdown wait_for_clients", "SHUTDOWN", "wait_for_clients")]
    public void Parses_WordAndOptionalArgument(string text, string verb, string? argument)
    {
        var command = AdminCommandParser.Parse(text);

        Assert.NotNull(command);
        Assert.Equal(verb, command.Verb);
        Assert.Equal(argument, command.Argument);
        Assert.False(command.IsSet);
    }

    [Theory]
    [InlineData("SET default_pool_size = 10", "default_pool_size", "10")]
    [InlineData("set default_pool_size=10;", "default_pool_size", "10")]
    [InlineData("SET server_reset_query TO 'DISCARD ALL'", "server_reset_query", "DISCARD ALL")]
    [InlineData("set client_encoding to 'UTF8'", "client_encoding", "UTF8")]
    [InlineData("SET x = 'it''s'", "x", "it's")]
    public void Parses_Set(string text, string key, string value)
    {
        var command = AdminCommandParser.Parse(text);

        Assert.NotNull(command);
        Assert.True(command.IsSet);
        Assert.Equal(key, command.SetKey);
        Assert.Equal(value, command.SetValue);
    }

    [Theory]
    [InlineData("")]
    [InlineData(";")]
    [InlineData("SHOW POOLS EXTRA")]
    [InlineData("SHOW-POOLS")]
    [InlineData("SHOW \"unterminated")]
    [InlineData("SHOW POOLS; SHOW STATS")]
    [InlineData("SET")]
    [InlineData("SET x")]
    [InlineData("SET x = 'open")]
    [InlineData("SET x = a b")]
    public void Rejects_Malformed(string text)
    {
        Assert.Null(AdminCommandParser.Parse(text));
    }
}
