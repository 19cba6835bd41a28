using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;
using Sluice.Tests.Maintenance;

namespace Sluice.Tests.Pooling;

/// <summary>
/// Which snapshot a login is judged by: the one in force when the startup packet arrives, as PgBouncer reads its
/// HBA rules and auth_file then, not the one in force when the client connected.
/// </summary>
public sealed class ClientLoginSnapshotTests
{
    [Fact]
    public async Task ClientConnectedBeforeAReload_IsJudgedByTheAuthFileInForceWhenItsStartupPacketArrives()
    {
        await using var host = await FakeClock.StartAsync();
        using var dir = TempDirectory.Create("sluice-login-snapshot-");
        await using var early = await RawPgClient.ConnectAsync(host.EndPoint);
        var startup = PgWire.Startup(("user", PostgresInstance.AppUser), ("database", TestPooler.FakeDatabase));
        await early.SendAsync(startup.AsMemory(0, 4));
        // Long enough for the pooler to have accepted the client and started reading its startup packet.
        await Task.Delay(FakeClock.Quiet);

        // The reload revokes the user: auth_type = trust still needs it in auth_file.
        var revoked = dir.WriteUserList("userlist.txt", ("someone-else", "unused"));
        host.Pooler.Reload(host.Pooler.Config.WithSetting("auth_file", revoked));
        await early.SendAsync(startup.AsMemory(4));

        await FakeClock.AssertFatalThenClosedAsync(early, "\"trust\" authentication failed");
        Assert.Equal(0, host.Fake.StartupCount);
    }
}
