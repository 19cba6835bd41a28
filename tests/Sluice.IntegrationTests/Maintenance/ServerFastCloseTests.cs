using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Maintenance;

/// <summary>server_fast_close: after RECONNECT a session's old server goes between transactions, with its client.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ServerFastCloseTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private static async Task<bool> IsDroppedAsync(NpgsqlConnection conn)
    {
        try
        {
            await conn.ScalarAsync<int>("SELECT 1");
            return false;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            return true;
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Reconnect_DropsIdleSession_OnlyWithFastClose(bool fastClose)
    {
        await using var host = await TestPooler.StartAsync(fixture.Postgres, output,
            ini => ini.Setting("pool_mode", "session").Setting("server_fast_close", fastClose ? 1 : 0));
        await using var conn = await host.OpenAsync();
        Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));

        host.Pooler.Reconnect();
        await Task.Delay(TimeSpan.FromSeconds(1.5));   // three janitor passes

        Assert.Equal(fastClose, await IsDroppedAsync(conn));
        Assert.Equal(fastClose, host.LogLines.Any(l => l.Contains("closing because: database configuration changed", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Reconnect_WithFastClose_LeavesOpenTransactionAlone()
    {
        await using var host = await TestPooler.StartAsync(fixture.Postgres, output,
            ini => ini.Setting("pool_mode", "session").Setting("server_fast_close", 1));
        await using var conn = await host.OpenAsync();
        await using var tx = await conn.BeginTransactionAsync();
        Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));

        host.Pooler.Reconnect();
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        Assert.Equal(2, await conn.ScalarAsync<int>("SELECT 2"));
        await tx.CommitAsync();
    }
}
