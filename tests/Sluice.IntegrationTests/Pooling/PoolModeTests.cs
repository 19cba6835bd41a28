using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>The basic query paths, run once per pool mode (session, transaction, statement).</summary>
[Collection(PostgresCollection.Name)]
public sealed class PoolModeTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    private Task<TestPooler> StartAsync(string mode) =>
        TestPooler.StartAsync(Pg, output, ini => ini.Setting("pool_mode", mode).Setting("default_pool_size", 2));

    [Theory]
    [InlineData("session")]
    [InlineData("transaction")]
    [InlineData("statement")]
    public async Task SimpleQueryProtocol_ReturnsRows(string mode)
    {
        await using var host = await StartAsync(mode);
        await using var raw = await RawPgClient.LoginOkAsync(host.Port, PostgresInstance.AppUser, PostgresInstance.AppDatabase, PostgresInstance.AppPassword);
        Assert.Equal('I', raw.TransactionStatus);

        var r = await raw.QueryAsync("SELECT 41 + 1, 'x'::text");
        Assert.Null(r.Error);
        Assert.Equal("42", r.FirstValue);
        Assert.Equal("x", r.ResultSets[0][0][1]);
        Assert.Equal(new[] { "SELECT 1" }, r.CommandTags);
        Assert.Equal('I', r.TransactionStatus);

        // Several statements in one simple Query (an implicit transaction): every result comes back.
        r = await raw.QueryAsync("SELECT 1; SELECT generate_series(1, 3); SELECT 'end'");
        Assert.Null(r.Error);
        Assert.Equal(3, r.ResultSets.Count);
        Assert.Equal(new[] { "1", "2", "3" }, r.ResultSets[1].Select(row => row[0]));
        Assert.Equal("end", r.ResultSets[2][0][0]);
        Assert.Equal('I', r.TransactionStatus);

        // An empty query gets EmptyQueryResponse + ReadyForQuery.
        r = await raw.QueryAsync("");
        Assert.Null(r.Error);
        Assert.Equal('I', r.TransactionStatus);
    }

    [Theory]
    [InlineData("session")]
    [InlineData("transaction")]
    [InlineData("statement")]
    public async Task ParameterizedQuery_ExtendedProtocol(string mode)
    {
        await using var host = await StartAsync(mode);
        await using var conn = await host.OpenAsync();
        for (var i = 0; i < 20; i++)
        {
            await using var cmd = new NpgsqlCommand("SELECT $1::int * 2, $2::text || '!', $3::bytea", conn);
            cmd.Parameters.Add(new NpgsqlParameter { Value = i });
            cmd.Parameters.Add(new NpgsqlParameter { Value = "v" + i });
            cmd.Parameters.Add(new NpgsqlParameter { Value = new byte[] { 1, 2, (byte)i } });
            await using var reader = await cmd.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(i * 2, reader.GetInt32(0));
            Assert.Equal($"v{i}!", reader.GetString(1));
            Assert.Equal(new byte[] { 1, 2, (byte)i }, (byte[])reader.GetValue(2));
            Assert.False(await reader.ReadAsync());
        }

        // A prepared (named) statement, reused.
        await using (var prepared = new NpgsqlCommand("SELECT $1::int + 100", conn))
        {
            prepared.Parameters.Add(new NpgsqlParameter<int> { TypedValue = 0 });
            await prepared.PrepareAsync();
            for (var i = 0; i < 5; i++)
            {
                ((NpgsqlParameter<int>)prepared.Parameters[0]).TypedValue = i;
                Assert.Equal(100 + i, (int)(await prepared.ExecuteScalarAsync())!);
            }
        }
    }

    [Theory]
    [InlineData("session")]
    [InlineData("transaction")]
    public async Task TransactionWithSavepoints(string mode)
    {
        await using var host = await StartAsync(mode);
        var table = Sql.UniqueName("sp");
        await using var conn = await host.OpenAsync();
        await conn.ExecAsync($"CREATE TABLE {table} (id int PRIMARY KEY)");

        await using (var tx = await conn.BeginTransactionAsync())
        {
            var pid = await conn.ScalarAsync<int>("SELECT pg_backend_pid()");
            await conn.ExecAsync($"INSERT INTO {table} VALUES (1)");
            await tx.SaveAsync("a");
            await conn.ExecAsync($"INSERT INTO {table} VALUES (2)");
            await tx.RollbackAsync("a");
            await tx.SaveAsync("b");
            var dup = await Assert.ThrowsAsync<PostgresException>(() => conn.ExecAsync($"INSERT INTO {table} VALUES (1)"));
            Assert.Equal("23505", dup.SqlState);
            await tx.RollbackAsync("b");
            await conn.ExecAsync($"INSERT INTO {table} VALUES (3)");
            await tx.ReleaseAsync("b");
            Assert.Equal(pid, await conn.ScalarAsync<int>("SELECT pg_backend_pid()"));
            await tx.CommitAsync();
        }

        var ids = new List<int>();
        await using (var cmd = new NpgsqlCommand($"SELECT id FROM {table} ORDER BY id", conn))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                ids.Add(reader.GetInt32(0));
            }
        }
        Assert.Equal(new[] { 1, 3 }, ids);

        // The same through SQL text over the simple protocol.
        await using var raw = await RawPgClient.LoginOkAsync(host.Port, PostgresInstance.AppUser, PostgresInstance.AppDatabase, PostgresInstance.AppPassword);
        Assert.Equal('T', (await raw.QueryAsync($"BEGIN; INSERT INTO {table} VALUES (10); SAVEPOINT s1")).TransactionStatus);
        var failed = await raw.QueryAsync($"INSERT INTO {table} VALUES (10)");
        Assert.Equal("23505", failed.Error?.SqlState);
        Assert.Equal('E', failed.TransactionStatus);
        Assert.Equal('T', (await raw.QueryAsync("ROLLBACK TO SAVEPOINT s1")).TransactionStatus);
        Assert.Equal('I', (await raw.QueryAsync("COMMIT")).TransactionStatus);
        Assert.Equal("3", (await raw.QueryAsync($"SELECT count(*) FROM {table}")).FirstValue);

        await conn.ExecAsync($"DROP TABLE {table}");
    }

    [Theory]
    [InlineData("session")]
    [InlineData("transaction")]
    [InlineData("statement")]
    public async Task ErrorThenRecovery_OnSameConnection(string mode)
    {
        await using var host = await StartAsync(mode);
        await using var conn = await host.OpenAsync();
        for (var i = 0; i < 3; i++)
        {
            var ex = await Assert.ThrowsAsync<PostgresException>(() => conn.ScalarAsync<int>("SELECT 1/0"));
            Assert.Equal("22012", ex.SqlState);
            Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));
        }
        var syntax = await Assert.ThrowsAsync<PostgresException>(() => conn.ExecAsync("SELEC nonsense"));
        Assert.Equal("42601", syntax.SqlState);
        Assert.Equal(7, await conn.ScalarAsync<int>("SELECT $1::int", 7));

        // Simple protocol: the error is followed by ReadyForQuery('I') and the connection goes on.
        await using var raw = await RawPgClient.LoginOkAsync(host.Port, PostgresInstance.AppUser, PostgresInstance.AppDatabase, PostgresInstance.AppPassword);
        var r = await raw.QueryAsync("SELECT 1/0");
        Assert.Equal("22012", r.Error?.SqlState);
        Assert.Equal('I', r.TransactionStatus);
        Assert.Equal("1", (await raw.QueryAsync("SELECT 1")).FirstValue);
    }

    [Theory]
    [InlineData("session")]
    [InlineData("transaction")]
    [InlineData("statement")]
    public async Task PipelinedBatch_WithFailingMiddleCommand_LeavesConnectionUsable(string mode)
    {
        await using var host = await StartAsync(mode);
        var table = Sql.UniqueName("batch");
        await using var conn = await host.OpenAsync();
        await conn.ExecAsync($"CREATE TABLE {table} (id int)");

        for (var round = 0; round < 3; round++)
        {
            await using var batch = new NpgsqlBatch(conn)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand($"INSERT INTO {table} VALUES (1)"),
                    new NpgsqlBatchCommand("SELECT 1/0"),
                    new NpgsqlBatchCommand($"INSERT INTO {table} VALUES (2)"),
                },
            };
            var ex = await Assert.ThrowsAsync<PostgresException>(() => batch.ExecuteNonQueryAsync());
            Assert.Equal("22012", ex.SqlState);

            // The batch ran as one implicit transaction: nothing of it is visible, and the connection works.
            Assert.Equal(0L, await conn.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
            Assert.Equal(5, await conn.ScalarAsync<int>("SELECT $1::int", 5));
        }

        // A good batch afterwards returns every result.
        await using (var good = new NpgsqlBatch(conn)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand($"INSERT INTO {table} VALUES (1)"),
                new NpgsqlBatchCommand("SELECT 2"),
                new NpgsqlBatchCommand($"SELECT count(*) FROM {table}"),
            },
        })
        await using (var reader = await good.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal(2, reader.GetInt32(0));
            Assert.True(await reader.NextResultAsync());
            Assert.True(await reader.ReadAsync());
            Assert.Equal(1L, reader.GetInt64(0));
        }
        await conn.ExecAsync($"DROP TABLE {table}");
    }
}
