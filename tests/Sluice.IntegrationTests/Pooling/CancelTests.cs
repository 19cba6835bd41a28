using System.Diagnostics;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Pooling;

[Collection(PostgresCollection.Name)]
public sealed class CancelTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    private async Task WaitUntilRunningAsync(string marker)
    {
        var sw = Stopwatch.StartNew();
        while (await Pg.ScalarAsync<long>($"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{marker}%' AND pid <> pg_backend_pid()") == 0)
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"query {marker} never showed up as active");
            await Task.Delay(20);
        }
    }

    /// <summary>Npgsql reports a cancelled command as OperationCanceledException wrapping the server's 57014 error.</summary>
    private static async Task<PostgresException> AssertCancelledAsync(Task running)
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => running.WaitAsync(TimeSpan.FromSeconds(10)));
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is PostgresException pg)
            {
                Assert.Equal("57014", pg.SqlState);
                return pg;
            }
        }
        Assert.Fail($"expected a 57014 PostgresException, got {ex}");
        throw new InvalidOperationException();
    }

    [Theory]
    [InlineData("session")]
    [InlineData("transaction")]
    public async Task Cancel_EndsLongQuery_With57014_AndConnectionStaysUsable(string mode)
    {
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", mode).Setting("default_pool_size", 2));
        await using var victim = await host.OpenAsync();
        await using var bystander = await host.OpenAsync();

        // The bystander's query on the other server must not be hit by the cancel.
        await using var bystanderCmd = new NpgsqlCommand("SELECT pg_sleep(1.5) /* bystander */, 7", bystander);
        var bystanderTask = bystanderCmd.ExecuteNonQueryAsync();

        await using var cmd = new NpgsqlCommand("SELECT pg_sleep(30) /* victim */", victim);
        var running = cmd.ExecuteNonQueryAsync();
        await WaitUntilRunningAsync("victim");
        await WaitUntilRunningAsync("bystander");

        var sw = Stopwatch.StartNew();
        // Npgsql's Cancel() is synchronous; keep the test thread free and bound it.
        await Task.Run(cmd.Cancel).WaitAsync(TimeSpan.FromSeconds(10));
        await AssertCancelledAsync(running);
        output.WriteLine($"cancelled after {sw.ElapsedMilliseconds} ms");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"cancel took {sw.Elapsed}");

        Assert.Equal(1, await victim.ScalarAsync<int>("SELECT 1"));
        Assert.Equal(5, await victim.ScalarAsync<int>("SELECT $1::int", 5));
        // The bystander was not cancelled: its statement completes normally.
        await bystanderTask.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(7, await bystander.ScalarAsync<int>("SELECT 7"));
    }

    [Fact]
    public async Task Cancel_InsideTransaction_AbortsIt_AndRollbackRecovers()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("pool_mode", "transaction"));
        await using var conn = await host.OpenAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using var cmd = new NpgsqlCommand("SELECT pg_sleep(30) /* txvictim */", conn, tx);
        var running = cmd.ExecuteNonQueryAsync();
        await WaitUntilRunningAsync("txvictim");
        await Task.Run(cmd.Cancel).WaitAsync(TimeSpan.FromSeconds(10));
        await AssertCancelledAsync(running);
        var aborted = await Assert.ThrowsAsync<PostgresException>(() => conn.ScalarAsync<int>("SELECT 1"));
        Assert.Equal("25P02", aborted.SqlState);
        await tx.RollbackAsync();
        Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));
    }
}
