using System.Diagnostics;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>PostgreSQL backends that die under the pooler.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ServerFailureTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    [Fact]
    public async Task LinkedServerTerminated_ClientGetsError_AndPoolHeals()
    {
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", "session").Setting("default_pool_size", 1));
        var client = await host.OpenAsync();
        int pid;
        try
        {
            pid = await client.ScalarAsync<int>("SELECT pg_backend_pid()");
            Assert.True(await Pg.ScalarAsync<bool>($"SELECT pg_terminate_backend({pid})"));

            var sw = Stopwatch.StartNew();
            var ex = await Assert.ThrowsAnyAsync<NpgsqlException>(() => client.ScalarAsync<int>("SELECT 1"));
            output.WriteLine($"client error after {sw.ElapsedMilliseconds} ms: {ex.Message}");
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10));
        }
        finally
        {
            await client.DisposeAsync();
        }

        // A new client gets a fresh, working server.
        var deadline = Stopwatch.StartNew();
        await using var next = await host.OpenAsync();
        var newPid = await next.ScalarAsync<int>("SELECT pg_backend_pid()");
        Assert.NotEqual(pid, newPid);
        Assert.Equal(1, await next.ScalarAsync<int>("SELECT 1"));
        Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task IdleServerTerminated_NextClientIsNotHandedTheDeadServer()
    {
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", "transaction").Setting("default_pool_size", 1));
        await using var client = await host.OpenAsync();
        var pid = await client.ScalarAsync<int>("SELECT pg_backend_pid()");

        // The server is idle in the pool now; kill it behind the pooler's back.
        Assert.True(await Pg.ScalarAsync<bool>($"SELECT pg_terminate_backend({pid})"));
        await Task.Delay(300);

        Assert.Equal(1, await client.ScalarAsync<int>("SELECT 1"));
        Assert.NotEqual(pid, await client.ScalarAsync<int>("SELECT pg_backend_pid()"));
    }

    [Fact]
    public async Task ServerTerminatedMidTransaction_InTransactionMode_ClientGetsError_OthersUnaffected()
    {
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", "transaction").Setting("default_pool_size", 2));
        await using var other = await host.OpenAsync();
        var victim = await host.OpenAsync();
        try
        {
            await using var tx = await victim.BeginTransactionAsync();
            var pid = await victim.ScalarAsync<int>("SELECT pg_backend_pid()");
            Assert.True(await Pg.ScalarAsync<bool>($"SELECT pg_terminate_backend({pid})"));
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => victim.ScalarAsync<int>("SELECT 1"));
        }
        catch (NpgsqlException)
        {
            // disposing the broken transaction may throw
        }
        finally
        {
            await victim.DisposeAsync();
        }
        Assert.Equal(2, await other.ScalarAsync<int>("SELECT 2"));
        await using var fresh = await host.OpenAsync();
        Assert.Equal(3, await fresh.ScalarAsync<int>("SELECT 3"));
    }
}
