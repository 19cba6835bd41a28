using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Transport;
using Sluice.Transport.Epoll;

namespace Sluice.IntegrationTests.Transport;

/// <summary>
/// Which engine carries the connections: Sluice's own event loops unless SLUICE_IO_ENGINE=sockets (scripts/test.sh
/// runs the pooling and transport tests once more that way), for client and server sockets alike.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class IoEngineSelectionTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task ClientAndServerSockets_RunOnTheEngineTheEnvironmentChose()
    {
        var wantLoops = !string.Equals(Environment.GetEnvironmentVariable(IoEngine.EnvironmentVariable)?.Trim(), "sockets", StringComparison.OrdinalIgnoreCase);
        Assert.Equal(wantLoops, IoEngine.UsesEventLoops);

        await using var host = await TestPooler.StartAsync(fixture.Postgres, output);
        await using var conn = await host.OpenAsync();
        Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));

        var clients = host.Pooler.Clients.ToList();
        Assert.NotEmpty(clients);
        Assert.All(clients, client => Assert.Equal(wantLoops, client.Connection is EpollConnection));
        var servers = host.Pooler.Pools.All.SelectMany(p => p.SnapshotServers()).ToList();
        Assert.NotEmpty(servers);
        Assert.All(servers, server => Assert.Equal(wantLoops, server.Connection is EpollConnection));
    }
}
