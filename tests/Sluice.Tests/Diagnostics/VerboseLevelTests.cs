using Microsoft.Extensions.Logging;
using Sluice.Config;

namespace Sluice.Diagnostics;

/// <summary>verbose follows the config at run time (SET verbose, RELOAD), never below what -v asked for.</summary>
public sealed class VerboseLevelTests
{
    private static PoolerConfig WithVerbose(int verbose) =>
        ConfigLoader.LoadText($"[databases]\n[pgbouncer]\nlogfile =\nverbose = {verbose}\n", "verbose.ini");

    [Fact]
    public void ConfigVerbose_RaisesAndLowersTheLevel()
    {
        using var provider = new TextLoggerProvider(LogLevel.Information, writeToStderr: false, null);
        provider.Configure(WithVerbose(2));
        Assert.True(provider.CreateLogger("Sluice").IsEnabled(LogLevel.Debug));

        provider.Configure(WithVerbose(0));
        Assert.False(provider.CreateLogger("Sluice").IsEnabled(LogLevel.Debug));
    }

    [Fact]
    public void CommandLineVerbose_IsAFloor()
    {
        using var provider = new TextLoggerProvider(TextLoggerProvider.LevelForVerbose(1), writeToStderr: false, null);
        provider.Configure(WithVerbose(0));
        Assert.True(provider.CreateLogger("Sluice").IsEnabled(LogLevel.Debug));
        Assert.False(provider.CreateLogger("Sluice").IsEnabled(LogLevel.Trace));
    }
}
