using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;

namespace Sluice.IntegrationTests.Operations;

/// <summary>
/// A SIGHUP sent as soon as sluice accepts connections (as PgBouncer's test suite does: it writes the ini and
/// signals right after its first console query) must reload, not end the process by the signal's default action.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class EarlySighupTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Sighup_AsSoonAsTheListenerAccepts_IsAReload()
    {
        using var dir = TempDirectory.Create("sluice-early-hup-");
        var port = TempFiles.GetFreeTcpPort();
        var log = dir.File("sluice.log");
        SluiceProcess.WriteIni(dir, fixture.Postgres, port, b => b.Setting("logfile", log));
        await using var process = ProcessRunner.StartBackground(SluiceProcess.Binary, [dir.File("sluice.ini")], runAsUser: UnprivilegedUser.Name);

        // Poll as tightly as possible: the first accepted connection is the moment a client could ask for a reload.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await Ops.IsRefusedAsync(port))
        {
            Assert.False(process.HasExited, "sluice exited before listening:\n" + process.Output);
            Assert.True(DateTime.UtcNow < deadline, "sluice did not listen:\n" + process.Output);
            await Task.Delay(1);
        }
        var pid = Cli.SluiceProcess.MainPid(process);
        Assert.True(await ProcessRunner.SignalAsync(pid, "HUP"));

        Assert.True(await Ops.UntilAsync(() => File.Exists(log) && File.ReadAllText(log).Contains("got SIGHUP", StringComparison.Ordinal), TimeSpan.FromSeconds(10)),
            "no reload logged:\n" + process.Output);
        await Task.Delay(500);
        output.WriteLine(File.ReadAllText(log));
        Assert.True(SluiceProcess.IsAlive(pid), "sluice died of the SIGHUP:\n" + process.Output);
        Assert.False(await Ops.IsRefusedAsync(port));
        await ProcessRunner.SignalAsync(pid, "QUIT");
        Assert.NotNull(await process.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }
}
