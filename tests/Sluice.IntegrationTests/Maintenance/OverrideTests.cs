using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Maintenance;

/// <summary>
/// Per-database and per-user overrides of pool_size and pool_mode against real PostgreSQL, with PgBouncer's
/// precedence user &gt; database &gt; global (pgbouncer.md §2).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class OverrideTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    /// <summary>Largest number of backends the role reaches while 12 clients run overlapping transactions.</summary>
    private async Task<long> PeakBackendsAsync(TestPooler host, TestRole role, string database)
    {
        await using var sampler = new RolesSampler(Pg, role.Name);
        var tasks = Enumerable.Range(0, 12).Select(_ => Task.Run(async () =>
        {
            await using var conn = await host.OpenAsync(role.Name, role.Password, database, b => b.Timeout = 60);
            for (var i = 0; i < 3; i++)
            {
                await using var tx = await conn.BeginTransactionAsync();
                await conn.ExecAsync("SELECT pg_sleep(0.1)");
                await tx.CommitAsync();
            }
        })).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromMinutes(1));
        await sampler.StopAsync();
        output.WriteLine($"{role.Name}@{database}: peak {sampler.Max} backends ({sampler.Samples} samples)");
        return sampler.Max;
    }

    [Fact]
    public async Task PoolSize_UserOverridesDatabase_DatabaseOverridesGlobal()
    {
        await using var plain = await TestRole.CreateAsync(Pg, "psz");
        await using var limited = await TestRole.CreateAsync(Pg, "psz");
        await using var other = await TestRole.CreateAsync(Pg, "psz");
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
                .Setting("default_pool_size", 6)
                .Database(PostgresInstance.AppDatabase, Pg.LibpqConnectString(PostgresInstance.AppDatabase, "pool_size=2"))
                .User(limited.Name, "pool_size=1"),
            users: [plain.AuthFileEntry, limited.AuthFileEntry, other.AuthFileEntry]);

        Assert.Equal(2, await PeakBackendsAsync(host, plain, PostgresInstance.AppDatabase));   // database > global
        Assert.Equal(1, await PeakBackendsAsync(host, limited, PostgresInstance.AppDatabase)); // user > database
        Assert.Equal(6, await PeakBackendsAsync(host, other, "postgres"));                     // global
    }

    /// <summary>Transaction pooling hands a released server to the next client; session pooling keeps it with its client.</summary>
    private static async Task<bool> SharesServerAsync(TestPooler host, TestRole role, string database)
    {
        await using var a = await host.OpenAsync(role.Name, role.Password, database);
        await using var b = await host.OpenAsync(role.Name, role.Password, database);
        var pidA = await a.ScalarAsync<int>("SELECT pg_backend_pid()");
        var pidB = await b.ScalarAsync<int>("SELECT pg_backend_pid()");
        var pidA2 = await a.ScalarAsync<int>("SELECT pg_backend_pid()");
        return pidA == pidB && pidA2 == pidA;
    }

    [Fact]
    public async Task PoolMode_UserOverridesDatabase_DatabaseOverridesGlobal()
    {
        await using var plain = await TestRole.CreateAsync(Pg, "pmd");
        await using var sessionUser = await TestRole.CreateAsync(Pg, "pmd");
        await using var txUser = await TestRole.CreateAsync(Pg, "pmd");
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
                .Setting("pool_mode", "session")
                .Setting("default_pool_size", 2)
                .Database(PostgresInstance.AppDatabase, Pg.LibpqConnectString(PostgresInstance.AppDatabase, "pool_mode=transaction"))
                .User(sessionUser.Name, "pool_mode=session")
                .User(txUser.Name, "pool_mode=transaction"),
            users: [plain.AuthFileEntry, sessionUser.AuthFileEntry, txUser.AuthFileEntry]);

        Assert.True(await SharesServerAsync(host, plain, PostgresInstance.AppDatabase), "database pool_mode=transaction over global session");
        Assert.False(await SharesServerAsync(host, plain, "postgres"), "global pool_mode=session");
        Assert.False(await SharesServerAsync(host, sessionUser, PostgresInstance.AppDatabase), "user pool_mode=session over database transaction");
        Assert.True(await SharesServerAsync(host, txUser, "postgres"), "user pool_mode=transaction over global session");
    }

    [Fact]
    public async Task StatementMode_FromTheDatabaseEntry_RefusesTransactionBlocks()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("pool_mode", "transaction")
            .Database("postgres", Pg.LibpqConnectString("postgres", "pool_mode=statement")));

        await using (var tx = await host.OpenAsync(database: PostgresInstance.AppDatabase))
        {
            await using var t = await tx.BeginTransactionAsync();
            Assert.Equal(1, await tx.ScalarAsync<int>("SELECT 1"));
            await t.CommitAsync();
        }

        await using var stmt = await host.OpenAsync(database: "postgres");
        var error = await MaintenanceKit.ThrowsAnyAsync(async () =>
        {
            await using var t = await stmt.BeginTransactionAsync();
            await stmt.ExecAsync("SELECT 1");
        });
        Assert.Contains("transaction blocks not allowed in statement pooling mode", MaintenanceKit.ErrorText(error));
    }
}
