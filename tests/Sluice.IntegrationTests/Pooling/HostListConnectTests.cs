using System.Globalization;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>
/// host=a,b with load_balance_hosts=disable: a host that does not resolve is logged once and skipped, and the
/// next connections go straight to the host that worked; every server connect is logged with its local address.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class HostListConnectTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    private static int Count(TestPooler host, string text) => host.LogLines.Count(l => l.Contains(text, StringComparison.Ordinal));

    [Fact]
    public async Task Disable_BadHostFirst_OneLookupFailure_BothServersOnGoodHost()
    {
        var port = Pg.Port.ToString(CultureInfo.InvariantCulture);
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("pool_mode", "session")
            .Database("hl", $"host=unresolvable-hostname,127.0.0.1 port={port} dbname={PostgresInstance.AppDatabase} load_balance_hosts=disable"));

        var clients = await Task.WhenAll(host.OpenAsync(database: "hl"), host.OpenAsync(database: "hl"));
        try
        {
            await Task.WhenAll(clients.Select(c => c.ExecAsync("SELECT pg_sleep(0.3)")));
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }

        Assert.Equal(1, Count(host, "closing because: server DNS lookup failed"));
        Assert.Equal(2, host.LogLines.Count(l => l.Contains($"@127.0.0.1:{port} new connection to server (from 127.0.0.1:", StringComparison.Ordinal)));
    }
}
