namespace Sluice.Cli;

public sealed class CommandLineTests
{
    private static CommandLine Ok(params string[] args)
    {
        var result = CommandLine.Parse(args, out var error);
        Assert.Null(error);
        return result;
    }

    private static string Fails(params string[] args)
    {
        CommandLine.Parse(args, out var error);
        Assert.NotNull(error);
        return error;
    }

    [Fact]
    public void NoArguments_EnvironmentConfig()
    {
        Assert.Equal(new CommandLine(false, false, 0, null, false, false, null), Ok());
    }

    [Fact]
    public void ConfigFileOnly()
    {
        Assert.Equal(new CommandLine(false, false, 0, null, false, false, "/etc/pgbouncer.ini"), Ok("/etc/pgbouncer.ini"));
    }

    [Theory]
    [InlineData(new[] { "-v" }, 1)]
    [InlineData(new[] { "-vv" }, 2)]
    [InlineData(new[] { "-v", "-v" }, 2)]
    [InlineData(new[] { "-vvv", "-v" }, 4)]
    [InlineData(new[] { "--verbose", "-v" }, 2)]
    [InlineData(new[] { "--verbose", "--verbose" }, 2)]
    public void Verbose_Counts(string[] args, int expected)
    {
        Assert.Equal(expected, Ok(args).Verbose);
    }

    [Fact]
    public void BundledFlags_dq()
    {
        var cl = Ok("-dq", "a.ini");

        Assert.True(cl.Daemon);
        Assert.True(cl.Quiet);
        Assert.Equal(0, cl.Verbose);
        Assert.Equal("a.ini", cl.ConfigFile);
    }

    [Fact]
    public void LongFlags()
    {
        var cl = Ok("--daemon", "--quiet", "a.ini");

        Assert.True(cl.Daemon);
        Assert.True(cl.Quiet);
    }

    [Theory]
    [InlineData("-u", "postgres")]
    [InlineData("--user", "postgres")]
    public void User_SeparateArgument(string option, string name)
    {
        var cl = Ok(option, name, "a.ini");

        Assert.Equal(name, cl.User);
        Assert.Equal("a.ini", cl.ConfigFile);
    }

    [Fact]
    public void User_Attached()
    {
        var cl = Ok("-upostgres", "a.ini");

        Assert.Equal("postgres", cl.User);
        Assert.Equal("a.ini", cl.ConfigFile);
    }

    [Fact]
    public void User_LongWithEquals()
    {
        var cl = Ok("--user=postgres", "a.ini");

        Assert.Equal("postgres", cl.User);
        Assert.Equal("a.ini", cl.ConfigFile);
    }

    [Fact]
    public void User_BundledAfterFlags_TakesRestOfArgument()
    {
        var cl = Ok("-dvupostgres", "a.ini");

        Assert.True(cl.Daemon);
        Assert.Equal(1, cl.Verbose);
        Assert.Equal("postgres", cl.User);
    }

    [Fact]
    public void User_BundledLast_TakesNextArgument()
    {
        var cl = Ok("-du", "postgres", "a.ini");

        Assert.True(cl.Daemon);
        Assert.Equal("postgres", cl.User);
        Assert.Equal("a.ini", cl.ConfigFile);
    }

    [Fact]
    public void User_ValueThatLooksLikeAnOption_IsTheValue()
    {
        // getopt takes the next argument verbatim.
        Assert.Equal("-v", Ok("-u", "-v").User);
    }

    [Fact]
    public void User_MissingArgument_Short()
    {
        Assert.Equal("option requires an argument -- 'u'", Fails("-u"));
        Assert.Equal("option requires an argument -- 'u'", Fails("a.ini", "-u"));
    }

    [Fact]
    public void User_MissingArgument_Long()
    {
        Assert.Equal("option '--user' requires an argument", Fails("--user"));
    }

    [Theory]
    [InlineData("-V")]
    [InlineData("--version")]
    public void Version(string arg)
    {
        var cl = Ok(arg);

        Assert.True(cl.ShowVersion);
        Assert.False(cl.ShowHelp);
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("--help")]
    public void Help(string arg)
    {
        var cl = Ok(arg);

        Assert.True(cl.ShowHelp);
        Assert.False(cl.ShowVersion);
    }

    [Fact]
    public void OptionsAfterConfigFile_ArePermuted()
    {
        var cl = Ok("a.ini", "-v", "-d");

        Assert.Equal("a.ini", cl.ConfigFile);
        Assert.Equal(1, cl.Verbose);
        Assert.True(cl.Daemon);
    }

    [Fact]
    public void UnknownShortOption()
    {
        Assert.Equal("invalid option -- 'x'", Fails("-x", "a.ini"));
    }

    [Fact]
    public void UnknownShortOption_InBundle()
    {
        Assert.Equal("invalid option -- 'z'", Fails("-vz"));
    }

    [Fact]
    public void UnknownLongOption()
    {
        Assert.Equal("unrecognized option '--bogus'", Fails("--bogus"));
        Assert.Equal("unrecognized option '--bogus=1'", Fails("--bogus=1"));
    }

    [Fact]
    public void TwoConfigFiles()
    {
        Assert.Equal("too many arguments", Fails("a.ini", "b.ini"));
    }

    [Theory]
    [InlineData("-R")]
    [InlineData("--reboot")]
    [InlineData("-dR")]
    public void Reboot_IsRefused(string arg)
    {
        var error = Fails(arg, "a.ini");

        Assert.Contains("-R", error);
        Assert.Contains("not supported", error);
    }

    [Fact]
    public void Error_ReturnsEmptyCommandLine()
    {
        var cl = CommandLine.Parse(["-d", "-x", "a.ini"], out var error);

        Assert.NotNull(error);
        Assert.False(cl.Daemon);
        Assert.Null(cl.ConfigFile);
    }

    [Fact]
    public void SingleDash_IsAnOperand()
    {
        Assert.Equal("-", Ok("-").ConfigFile);
    }

    [Fact]
    public void Usage_MentionsEveryOption()
    {
        foreach (var option in new[] { "-d", "-q", "-R", "-u", "-v", "-V", "-h", "--daemon", "--quiet", "--user", "--verbose", "--version", "--help" })
        {
            Assert.Contains(option, CommandLine.Usage);
        }
    }
}
