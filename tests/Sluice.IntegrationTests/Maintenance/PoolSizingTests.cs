using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using static Sluice.IntegrationTests.Maintenance.MaintenanceKit;

namespace Sluice.IntegrationTests.Maintenance;

/// <summary>min_pool_size and reserve_pool_size as PgBouncer 1.25 applies them, against real PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PoolSizingTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    [Fact]
    public async Task MinPoolSize_WithForcedUser_OpensServersBeforeAnyClient_NeverPastPoolSize()
    {
        await using var role = await TestRole.CreateAsync(Pg, "warm");
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Database("warm", Pg.LibpqConnectString(PostgresInstance.AppDatabase, $"user={role.Name} password={role.Password} min_pool_size=3 pool_size=2")),
            users: [role.AuthFileEntry]);

        await EventuallyAsync(async () => await CountBackendsAsync(Pg, role.Name) == 2, "min_pool_size servers without a client", TimeSpan.FromSeconds(5));
        await Task.Delay(1200);   // two more janitor rounds: still capped by pool_size
        Assert.Equal(2, await CountBackendsAsync(Pg, role.Name));
    }

    [Fact]
    public async Task ReservePool_EachReserveServerIsLogged_AndOnlyAfterTheTimeout()
    {
        await using var role = await TestRole.CreateAsync(Pg, "rlog");
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("pool_mode", "statement").Setting("default_pool_size", 1)
            .Setting("reserve_pool_size", 2).Setting("reserve_pool_timeout", 1),
            users: [role.AuthFileEntry]);
        var clients = new List<Task>();
        for (var i = 0; i < 4; i++)
        {
            clients.Add(Task.Run(async () =>
            {
                await using var c = await host.OpenAsync(role.Name, role.Password);
                await c.ExecAsync("SELECT pg_sleep(3)");
            }));
        }

        await Task.Delay(700);
        Assert.Equal(1, await CountBackendsAsync(Pg, role.Name));
        Assert.DoesNotContain(host.LogLines, l => l.Contains("taking connection from reserve_pool", StringComparison.Ordinal));
        await EventuallyAsync(async () => await CountBackendsAsync(Pg, role.Name) == 3, "reserve servers", TimeSpan.FromSeconds(5));
        await Task.WhenAll(clients);
        Assert.Equal(2, host.LogLines.Count(l => l.Contains("taking connection from reserve_pool", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ReservePool_ZeroTimeoutDisablesTheReserve()
    {
        await using var role = await TestRole.CreateAsync(Pg, "rnone");
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("pool_mode", "statement").Setting("default_pool_size", 1)
            .Setting("reserve_pool_size", 2).Setting("reserve_pool_timeout", 0),
            users: [role.AuthFileEntry]);
        var clients = new List<Task>();
        for (var i = 0; i < 3; i++)
        {
            clients.Add(Task.Run(async () =>
            {
                await using var c = await host.OpenAsync(role.Name, role.Password);
                await c.ExecAsync("SELECT pg_sleep(0.8)");
            }));
        }
        var peak = 0L;
        while (!clients.All(t => t.IsCompleted))
        {
            peak = Math.Max(peak, await CountBackendsAsync(Pg, role.Name));
            await Task.Delay(100);
        }
        await Task.WhenAll(clients);
        Assert.Equal(1, peak);
    }
}
