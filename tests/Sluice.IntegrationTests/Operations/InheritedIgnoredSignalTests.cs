using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;

namespace Sluice.IntegrationTests.Operations;

/// <summary>
/// A shell without job control (a script running "sluice … &amp;", PgBouncer's test harness) starts sluice with SIGINT
/// and SIGQUIT ignored, nohup with SIGHUP ignored. Sluice must still catch its signals, as PgBouncer does whatever
/// dispositions it inherited (PgBouncer's suite stops the pooler with SIGQUIT).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class InheritedIgnoredSignalTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Theory]
    [InlineData("QUIT", "got SIGQUIT, fast exit")]
    [InlineData("INT", "got SIGINT, shutting down")]   // with no server to wait for, the drain ends at once
    [InlineData("TERM", "got SIGTERM, shutting down")]
    public async Task StopSignal_IgnoredByTheParentShell_StillStopsSluice(string signal, string logged)
    {
        using var dir = TempDirectory.Create("sluice-ign-sig-");
        var (process, pid) = await StartWithSignalsIgnoredAsync(dir);
        await using var _ = process;

        Assert.True(await ProcessRunner.SignalAsync(pid, signal));
        var exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(15));
        output.WriteLine(process.Output);
        Assert.True(exit is not null, $"SIG{signal} did not stop sluice started with it ignored:\n" + process.Output);
        Assert.Equal(0, exit);
        Assert.Contains(logged, process.Output);
    }

    [Fact]
    public async Task Sighup_IgnoredByTheParent_StillReloads()
    {
        using var dir = TempDirectory.Create("sluice-ign-hup-");
        var (process, pid) = await StartWithSignalsIgnoredAsync(dir);
        await using var _ = process;

        Assert.True(await ProcessRunner.SignalAsync(pid, "HUP"));
        Assert.True(await Ops.UntilAsync(() => Task.FromResult(process.Output.Contains("got SIGHUP", StringComparison.Ordinal)), TimeSpan.FromSeconds(10)),
            "SIGHUP was not caught:\n" + process.Output);
        Assert.True(await ProcessRunner.SignalAsync(pid, "QUIT"));
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }

    private async Task<(BackgroundProcess Process, int Pid)> StartWithSignalsIgnoredAsync(TempDirectory dir)
    {
        var port = TempFiles.GetFreeTcpPort();
        SluiceProcess.WriteIni(dir, fixture.Postgres, port, null);
        // trap '' makes the signals ignored and exec keeps that for sluice, as a non-interactive shell does for "&".
        var process = ProcessRunner.StartBackground("bash",
            ["-c", "trap '' HUP INT QUIT TERM; exec \"$0\" \"$@\"", SluiceProcess.Binary, dir.File("sluice.ini")],
            runAsUser: UnprivilegedUser.Name);
        Assert.True(await Ops.UntilAsync(() => Task.FromResult(SluiceProcess.ReadPid(dir.File("sluice.pid")) is not null), TimeSpan.FromSeconds(30)),
            "sluice did not start:\n" + process.Output);
        Assert.True(await Ops.UntilAsync(async () => !await Ops.IsRefusedAsync(port), TimeSpan.FromSeconds(10)));
        return (process, SluiceProcess.ReadPid(dir.File("sluice.pid"))!.Value);
    }
}
