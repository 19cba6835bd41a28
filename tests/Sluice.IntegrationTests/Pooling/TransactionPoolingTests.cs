using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Pooling;

[Collection(PostgresCollection.Name)]
public sealed class TransactionPoolingTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    [Fact]
    public async Task TwentyClients_OnPoolOfThree_ShareServers_AndKeepOneBackendPerTransaction()
    {
        const int Clients = 20;
        const int TransactionsPerClient = 15;
        const int PoolSize = 3;
        await using var role = await TestRole.CreateAsync(Pg, "txpool");
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", "transaction").Setting("default_pool_size", PoolSize),
            users: [role.AuthFileEntry]);

        var table = Sql.UniqueName("txlog");
        await using (var setup = await host.OpenAsync(role.Name, role.Password))
        {
            await setup.ExecAsync($"CREATE TABLE {table} (client int, tx int, pid int)");
        }

        var connections = new NpgsqlConnection[Clients];
        try
        {
            for (var i = 0; i < Clients; i++)
            {
                connections[i] = await host.OpenAsync(role.Name, role.Password);
            }

            await using var sampler = BackendSampler.Start(Pg, role.Name);
            var allPids = new ConcurrentDictionary<int, byte>();
            var pidsPerClient = new ConcurrentDictionary<int, HashSet<int>>();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var workers = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
            {
                var conn = connections[c];
                var mine = new HashSet<int>();
                for (var t = 0; t < TransactionsPerClient && !cts.IsCancellationRequested; t++)
                {
                    await using var tx = await conn.BeginTransactionAsync(cts.Token);
                    var pid = await conn.ScalarAsync<int>("SELECT pg_backend_pid()");
                    await conn.ExecAsync($"INSERT INTO {table} VALUES ($1, $2, pg_backend_pid())", c, t);
                    await conn.ExecAsync("SELECT pg_sleep(0.002)");
                    var again = await conn.ScalarAsync<int>("SELECT pg_backend_pid()");
                    Assert.Equal(pid, again);
                    Assert.Equal(c, await conn.ScalarAsync<int>("SELECT $1::int", c));
                    await tx.CommitAsync(cts.Token);
                    mine.Add(pid);
                    allPids.TryAdd(pid, 0);

                    // An autocommit statement between the transactions.
                    Assert.Equal(t, await conn.ScalarAsync<int>("SELECT $1::int", t));
                }
                pidsPerClient[c] = mine;
            })).ToArray();
            await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(90));
            await sampler.StopAsync();

            output.WriteLine($"backend samples={sampler.Samples} max={sampler.Max} distinct pids={allPids.Count}");
            Assert.True(sampler.Samples > 0);
            Assert.InRange(sampler.Max, 1, PoolSize);
            Assert.InRange(allPids.Count, 1, PoolSize);
            // Transactions of one client were served by different servers at least once somewhere: the servers are shared.
            Assert.Contains(pidsPerClient.Values, s => s.Count > 1);

            // Every row of a transaction was written by the backend that transaction reported.
            await using var check = await host.OpenAsync(role.Name, role.Password);
            Assert.Equal((long)Clients * TransactionsPerClient, await check.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
            Assert.Equal((long)Clients * TransactionsPerClient, await check.ScalarAsync<long>($"SELECT count(DISTINCT (client, tx)) FROM {table}"));
        }
        finally
        {
            foreach (var c in connections)
            {
                if (c is not null)
                {
                    await c.DisposeAsync();
                }
            }
        }
    }

    [Fact]
    public async Task ClientKilledMidTransaction_IsRolledBack_AndNextClientGetsCleanServer()
    {
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", "transaction").Setting("default_pool_size", 1));
        var table = Sql.UniqueName("killed");
        await Pg.ExecuteAsync($"CREATE TABLE {table} (id int); ALTER TABLE {table} OWNER TO app", PostgresInstance.AppDatabase);

        var raw = await RawPgClient.LoginOkAsync(host.Port, PostgresInstance.AppUser, PostgresInstance.AppDatabase, PostgresInstance.AppPassword);
        var r = await raw.QueryAsync($"BEGIN; INSERT INTO {table} VALUES (1); SELECT txid_current()");
        Assert.Null(r.Error);
        Assert.Equal('T', r.TransactionStatus);
        var killedXid = long.Parse(r.ResultSets[0][0][0]!, System.Globalization.CultureInfo.InvariantCulture);
        var lockQuery = $"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = '{table}'";
        Assert.True(await Pg.ScalarAsync<long>(lockQuery, PostgresInstance.AppDatabase) > 0, "the open transaction should hold a lock");

        raw.Abort();
        await raw.DisposeAsync();

        // The lock disappears (transaction rolled back) within a few seconds.
        var sw = Stopwatch.StartNew();
        while (await Pg.ScalarAsync<long>(lockQuery, PostgresInstance.AppDatabase) > 0)
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), "the killed client's transaction still holds its lock after 10 s\n" + host.LogTail());
            await Task.Delay(50);
        }

        await host.AssertNextClientNotInTransactionAsync();
        await using var next = await host.OpenAsync();
        Assert.Null(await next.ScalarAsync<object?>("SELECT txid_current_if_assigned()"));
        Assert.Equal(0L, await next.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        Assert.NotEqual(killedXid, await next.ScalarAsync<long>("SELECT txid_current()"));
        await using (var tx = await next.BeginTransactionAsync())
        {
            await next.ExecAsync($"INSERT INTO {table} VALUES (2)");
            await tx.CommitAsync();
        }
        Assert.Equal(0L, await Pg.ScalarAsync<long>($"SELECT count(*) FROM {table} WHERE id = 1", PostgresInstance.AppDatabase));
        Assert.Equal(1L, await Pg.ScalarAsync<long>($"SELECT count(*) FROM {table} WHERE id = 2", PostgresInstance.AppDatabase));
    }

    [Fact]
    public async Task ClientKilledWhileQueryRunning_ServerIsNotReusedMidQuery()
    {
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("pool_mode", "transaction").Setting("default_pool_size", 1));

        var raw = await RawPgClient.LoginOkAsync(host.Port, PostgresInstance.AppUser, PostgresInstance.AppDatabase, PostgresInstance.AppPassword);
        await raw.SendQueryAsync("SELECT pg_sleep(2), 'stale'");
        await Task.Delay(200);
        raw.Abort();
        await raw.DisposeAsync();

        // The next client must get its own answer, never the killed client's late result.
        await using var next = await host.OpenAsync();
        Assert.Equal("fresh", await next.ScalarAsync<string>("SELECT 'fresh'::text"));
        Assert.Equal(5, await next.ScalarAsync<int>("SELECT $1::int", 5));
    }
}
