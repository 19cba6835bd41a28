using System.Net.Sockets;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Transport;

/// <summary>
/// unix_socket_dir = @name listens on an abstract Unix socket (no file). Its clients are local connections, as
/// with a socket file: HBA <c>local</c> rules apply to them and <c>host</c> rules do not.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AbstractUnixSocketTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task AClientOfAnAbstractSocket_IsMatchedByLocalRules_NotByHostRules()
    {
        using var dir = TempDirectory.Create();
        // Local clients need no password; TCP clients are refused outright.
        var hba = dir.WriteFile("hba.conf", "local all all trust\nhost all all 0.0.0.0/0 reject\n");
        var name = "sluice-abstract-" + Guid.NewGuid().ToString("N")[..12];
        await using var host = await TestPooler.StartAsync(fixture.Postgres, output, ini => ini
            .Setting("unix_socket_dir", "@" + name)
            .Setting("auth_type", "hba")
            .Setting("auth_hba_file", hba));

        var endPoint = new UnixDomainSocketEndPoint("\0" + name + "/.s.PGSQL." + host.PortText);
        await using (var local = await RawPgClient.LoginAsync(endPoint, PostgresInstance.AppUser, PostgresInstance.AppDatabase))
        {
            Assert.True(local.Login!.Ok, local.Login.Error is { } e ? e['M'] : null);
            var result = await local.QueryAsync("SELECT 1");
            Assert.Equal("1", result.ResultSets.Single().Single()[0]);
        }

        await using var tcp = await RawPgClient.LoginAsync(host.Port, PostgresInstance.AppUser, PostgresInstance.AppDatabase, PostgresInstance.AppPassword);
        Assert.False(tcp.Login!.Ok);
        Assert.Contains(host.LogLines, line => line.Contains("listening on unix:@" + name + "/.s.PGSQL.", StringComparison.Ordinal));
    }
}
