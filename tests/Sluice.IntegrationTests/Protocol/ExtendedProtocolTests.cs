using Npgsql;
using NpgsqlTypes;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Protocol;

/// <summary>Extended-protocol traffic that stresses message framing and buffering in the pooler.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ExtendedProtocolTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    [Theory]
    [InlineData("session")]
    [InlineData("transaction")]
    public async Task LargeValues_RoundTripIntact(string mode)
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("pool_mode", mode).Setting("default_pool_size", 1));
        await using var conn = await host.OpenAsync();
        var rnd = new Random(1234);
        foreach (var size in new[] { 0, 1, 8191, 8192, 65_537, 1 << 20, 5 << 20 })
        {
            var data = new byte[size];
            rnd.NextBytes(data);
            await using var cmd = new NpgsqlCommand("SELECT $1::bytea, length($1::bytea), md5($1::bytea)", conn);
            cmd.Parameters.Add(new NpgsqlParameter { Value = data, NpgsqlDbType = NpgsqlDbType.Bytea });
            await using var reader = await cmd.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(data, (byte[])reader.GetValue(0));
            Assert.Equal(size, reader.GetInt32(1));
#pragma warning disable CA5351 // comparing with PostgreSQL's md5()
            Assert.Equal(Convert.ToHexString(System.Security.Cryptography.MD5.HashData(data)).ToLowerInvariant(), reader.GetString(2));
#pragma warning restore CA5351
        }
    }

    [Fact]
    public async Task ManyRowsAndResultSets_InOneBatch()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("pool_mode", "transaction").Setting("default_pool_size", 1));
        await using var conn = await host.OpenAsync();
        await using var batch = new NpgsqlBatch(conn);
        for (var i = 1; i <= 20; i++)
        {
            var c = new NpgsqlBatchCommand("SELECT g, repeat('x', $1) FROM generate_series(1, $2) g");
            c.Parameters.Add(new NpgsqlParameter { Value = i * 10 });
            c.Parameters.Add(new NpgsqlParameter { Value = i * 500 });
            batch.BatchCommands.Add(c);
        }
        await using var reader = await batch.ExecuteReaderAsync();
        for (var i = 1; i <= 20; i++)
        {
            var rows = 0;
            while (await reader.ReadAsync())
            {
                rows++;
                Assert.Equal(rows, reader.GetInt32(0));
                Assert.Equal(i * 10, reader.GetString(1).Length);
            }
            Assert.Equal(i * 500, rows);
            Assert.Equal(i < 20, await reader.NextResultAsync());
        }
    }

    [Fact]
    public async Task PreparedStatements_InSessionMode_SurviveAcrossTransactions()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("pool_mode", "session"));
        await using var conn = await host.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT $1::int * $2::int", conn);
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = 0 });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = 0 });
        await cmd.PrepareAsync();
        for (var i = 0; i < 10; i++)
        {
            await using var tx = await conn.BeginTransactionAsync();
            cmd.Transaction = tx;
            ((NpgsqlParameter<int>)cmd.Parameters[0]).TypedValue = i;
            ((NpgsqlParameter<int>)cmd.Parameters[1]).TypedValue = i + 1;
            Assert.Equal(i * (i + 1), (int)(await cmd.ExecuteScalarAsync())!);
            await tx.CommitAsync();
        }
        Assert.True(await conn.ScalarAsync<long>("SELECT count(*) FROM pg_prepared_statements WHERE from_sql = false") >= 1);
    }

    [Fact]
    public async Task ParameterizedStatements_FromManyClients_InTransactionMode_AreNotMixedUp()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("pool_mode", "transaction").Setting("default_pool_size", 2));
        var conns = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                conns.Add(await host.OpenAsync());
            }
            var workers = conns.Select((conn, c) => Task.Run(async () =>
            {
                for (var i = 0; i < 50; i++)
                {
                    var text = $"c{c}-i{i}-" + new string('y', (c * 97 + i * 31) % 3000);
                    await using var cmd = new NpgsqlCommand("SELECT $1::text, $2::int + 1", conn);
                    cmd.Parameters.Add(new NpgsqlParameter { Value = text });
                    cmd.Parameters.Add(new NpgsqlParameter { Value = i });
                    await using var reader = await cmd.ExecuteReaderAsync();
                    Assert.True(await reader.ReadAsync());
                    Assert.Equal(text, reader.GetString(0));
                    Assert.Equal(i + 1, reader.GetInt32(1));
                }
            })).ToArray();
            await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            foreach (var c in conns)
            {
                await c.DisposeAsync();
            }
        }
    }
}
