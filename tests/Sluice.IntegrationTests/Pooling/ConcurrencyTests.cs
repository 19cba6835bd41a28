using System.Diagnostics;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Pooling;

[Collection(PostgresCollection.Name)]
public sealed class ConcurrencyTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    /// <summary>Opens <paramref name="count"/> connections, at most <paramref name="parallel"/> logins in flight at once.</summary>
    private static async Task<NpgsqlConnection[]> OpenManyAsync(TestPooler host, TestRole role, int count, int parallel, TimeSpan timeout)
    {
        var connections = new NpgsqlConnection[count];
        using var gate = new SemaphoreSlim(parallel);
        var cs = host.ConnectionString(role.Name, role.Password, tweak: b => b.Timeout = 30);
        var tasks = Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var conn = new NpgsqlConnection(cs);
                connections[i] = conn;
                await conn.OpenAsync();
            }
            finally
            {
                gate.Release();
            }
        }).ToArray();
        try
        {
            await Task.WhenAll(tasks).WaitAsync(timeout);
        }
        catch
        {
            await DisposeAllAsync(connections);
            throw;
        }
        return connections;
    }

    private static async Task DisposeAllAsync(IEnumerable<NpgsqlConnection?> connections)
    {
        foreach (var c in connections)
        {
            if (c is not null)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task TwoHundredClients_OnPoolOfTen_CountersAreExact_AndNoCrossTalk()
    {
        const int Clients = 200;
        const int Iterations = 10;
        const int Counters = 10;
        const int PoolSize = 10;
        await using var role = await TestRole.CreateAsync(Pg, "counters");
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", "transaction").Setting("default_pool_size", PoolSize).Setting("max_client_conn", Clients + 10),
            users: [role.AuthFileEntry]);
        var table = Sql.UniqueName("counters");
        await using (var setup = await host.OpenAsync(role.Name, role.Password))
        {
            await setup.ExecAsync($"CREATE TABLE {table} (id int PRIMARY KEY, n int NOT NULL)");
            await setup.ExecAsync($"INSERT INTO {table} SELECT g, 0 FROM generate_series(0, {Counters - 1}) g");
        }

        var connections = await OpenManyAsync(host, role, Clients, 50, TimeSpan.FromSeconds(60));
        try
        {
            var expected = new int[Counters];
            for (var c = 0; c < Clients; c++)
            {
                for (var i = 0; i < Iterations; i++)
                {
                    expected[(c + i) % Counters]++;
                }
            }

            await using var sampler = BackendSampler.Start(Pg, role.Name);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var workers = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
            {
                await start.Task;
                var conn = connections[c];
                for (var i = 0; i < Iterations; i++)
                {
                    await using var tx = await conn.BeginTransactionAsync();
                    Assert.Equal(1, await conn.ExecAsync($"UPDATE {table} SET n = n + 1 WHERE id = $1", (c + i) % Counters));
                    Assert.Equal(c, await conn.ScalarAsync<int>("SELECT $1::int", c));
                    Assert.Equal($"client-{c}-{i}", await conn.ScalarAsync<string>("SELECT $1::text", $"client-{c}-{i}"));
                    await tx.CommitAsync();
                    // And one autocommit statement: its own value comes back.
                    Assert.Equal(c * 1000 + i, await conn.ScalarAsync<int>("SELECT $1::int", c * 1000 + i));
                }
            })).ToArray();
            start.SetResult();
            await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(90));
            await sampler.StopAsync();
            output.WriteLine($"max backends {sampler.Max} over {sampler.Samples} samples");
            Assert.InRange(sampler.Max, 1, PoolSize);

            await using var check = await host.OpenAsync(role.Name, role.Password);
            Assert.Equal((long)Clients * Iterations, await check.ScalarAsync<long>($"SELECT sum(n) FROM {table}"));
            for (var id = 0; id < Counters; id++)
            {
                Assert.Equal(expected[id], await check.ScalarAsync<int>($"SELECT n FROM {table} WHERE id = $1", id));
            }
        }
        finally
        {
            await DisposeAllAsync(connections);
        }
    }

    [Fact]
    public async Task ThousandClients_OnPoolOf25_AllConnectedAtOnce()
    {
        const int Clients = 1000;
        const int PoolSize = 25;
        var total = Stopwatch.StartNew();
        await using var role = await TestRole.CreateAsync(Pg, "seed");
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", "transaction").Setting("default_pool_size", PoolSize).Setting("max_client_conn", Clients),
            users: [role.AuthFileEntry]);
        var table = Sql.UniqueName("seed");
        await Pg.ExecuteAsync($"CREATE TABLE {table} (client int PRIMARY KEY, pid int); ALTER TABLE {table} OWNER TO {role.Name}", PostgresInstance.AppDatabase);

        await using var sampler = BackendSampler.Start(Pg, role.Name, TimeSpan.FromMilliseconds(25));
        var connections = await OpenManyAsync(host, role, Clients, 100, TimeSpan.FromSeconds(60));
        try
        {
            output.WriteLine($"{Clients} clients connected after {total.Elapsed.TotalSeconds:F1}s; pooler client count {host.Pooler.ClientCount}");
            Assert.Equal(Clients, host.Pooler.ClientCount);
            Assert.All(connections, c => Assert.Equal(System.Data.ConnectionState.Open, c.State));

            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var workers = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
            {
                await start.Task;
                var conn = connections[c];
                await using var tx = await conn.BeginTransactionAsync();
                Assert.Equal(c, await conn.ScalarAsync<int>("SELECT $1::int", c));
                await conn.ExecAsync($"INSERT INTO {table} VALUES ($1, pg_backend_pid())", c);
                await tx.CommitAsync();
            })).ToArray();
            start.SetResult();
            await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));
            await sampler.StopAsync();
            output.WriteLine($"all transactions done after {total.Elapsed.TotalSeconds:F1}s; max backends {sampler.Max} over {sampler.Samples} samples");

            Assert.InRange(sampler.Max, 1, PoolSize);
            Assert.Equal((long)Clients, await Pg.ScalarAsync<long>($"SELECT count(*) FROM {table}", PostgresInstance.AppDatabase));
            Assert.InRange(await Pg.ScalarAsync<long>($"SELECT count(DISTINCT pid) FROM {table}", PostgresInstance.AppDatabase), 1, PoolSize);
        }
        finally
        {
            await DisposeAllAsync(connections);
        }
        Assert.True(total.Elapsed < TimeSpan.FromSeconds(60), $"took {total.Elapsed}");
    }
}
