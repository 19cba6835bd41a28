using Npgsql;
using NpgsqlTypes;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Protocol;

/// <summary>COPY FROM STDIN / TO STDOUT through a transaction-mode pool.</summary>
[Collection(PostgresCollection.Name)]
public sealed class CopyTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const int Rows = 10_000;

    private PostgresInstance Pg => fixture.Postgres;

    private Task<TestPooler> StartAsync() =>
        TestPooler.StartAsync(Pg, output, ini => ini.Setting("pool_mode", "transaction").Setting("default_pool_size", 1));

    [Fact]
    public async Task CopyIn_BinaryAndText_ThenCopyOut_TextAndBinary_RowCountsExact()
    {
        await using var host = await StartAsync();
        var table = Sql.UniqueName("copy");
        await using var conn = await host.OpenAsync();
        // A second client shares the single server: it only gets it if every COPY released it properly.
        await using var other = await host.OpenAsync();
        await conn.ExecAsync($"CREATE TABLE {table} (id int NOT NULL, name text, val double precision)");

        await using (var importer = await conn.BeginBinaryImportAsync($"COPY {table} (id, name, val) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < Rows; i++)
            {
                await importer.StartRowAsync();
                await importer.WriteAsync(i, NpgsqlDbType.Integer);
                await importer.WriteAsync("bin-" + i, NpgsqlDbType.Text);
                await importer.WriteAsync(i / 4.0, NpgsqlDbType.Double);
            }
            Assert.Equal((ulong)Rows, await importer.CompleteAsync());
        }
        Assert.Equal((long)Rows, await other.ScalarAsync<long>($"SELECT count(*) FROM {table}"));

        await using (var writer = await conn.BeginTextImportAsync($"COPY {table} (id, name, val) FROM STDIN"))
        {
            for (var i = Rows; i < 2 * Rows; i++)
            {
                await writer.WriteAsync($"{i}\ttext-{i}\t{i / 4.0:R}\n");
            }
        }
        Assert.Equal(2L * Rows, await other.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        Assert.Equal(2L * Rows, await other.ScalarAsync<long>($"SELECT count(DISTINCT id) FROM {table}"));

        var lines = 0;
        long idSum = 0;
        using (var reader = await conn.BeginTextExportAsync($"COPY {table} (id, name) TO STDOUT"))
        {
            string? line;
            while ((line = await reader.ReadLineAsync()) is not null)
            {
                lines++;
                idSum += long.Parse(line.AsSpan(0, line.IndexOf('\t')), provider: System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        Assert.Equal(2 * Rows, lines);
        Assert.Equal((2L * Rows - 1) * 2 * Rows / 2, idSum);
        Assert.Equal(1, await other.ScalarAsync<int>("SELECT 1"));

        var binaryRows = 0;
        await using (var exporter = await conn.BeginBinaryExportAsync($"COPY {table} (id, name) TO STDOUT (FORMAT BINARY)"))
        {
            while (await exporter.StartRowAsync() != -1)
            {
                var id = await exporter.ReadAsync<int>(NpgsqlDbType.Integer);
                var name = await exporter.ReadAsync<string>(NpgsqlDbType.Text);
                Assert.EndsWith("-" + id, name, StringComparison.Ordinal);
                binaryRows++;
            }
        }
        Assert.Equal(2 * Rows, binaryRows);

        // The connection is still a normal one.
        Assert.Equal(2L * Rows, await conn.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        await conn.ExecAsync($"DROP TABLE {table}");
    }

    [Fact]
    public async Task CopyIn_BadData_FailsWithError_AndConnectionRecovers()
    {
        await using var host = await StartAsync();
        var table = Sql.UniqueName("copybad");
        await using var conn = await host.OpenAsync();
        await conn.ExecAsync($"CREATE TABLE {table} (id int)");

        var ex = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var writer = await conn.BeginTextImportAsync($"COPY {table} FROM STDIN");
            await writer.WriteAsync("1\n2\nnot-a-number\n4\n");
        });
        Assert.Equal("22P02", ex.SqlState);
        Assert.Equal(0L, await conn.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        await host.AssertNextClientNotInTransactionAsync();

        // An abandoned binary import (CopyFail) leaves nothing behind either.
        await using (var importer = await conn.BeginBinaryImportAsync($"COPY {table} FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < 100; i++)
            {
                await importer.StartRowAsync();
                await importer.WriteAsync(i, NpgsqlDbType.Integer);
            }
            // disposed without Complete: Npgsql sends CopyFail
        }
        Assert.Equal(0L, await conn.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        Assert.Equal(9, await conn.ScalarAsync<int>("SELECT $1::int", 9));
        await host.AssertNextClientNotInTransactionAsync();
        await conn.ExecAsync($"DROP TABLE {table}");
    }

    [Fact]
    public async Task CopyIn_SimpleProtocolViaPsql_Works()
    {
        await using var host = await StartAsync();
        var table = Sql.UniqueName("copypsql");
        await using var conn = await host.OpenAsync();
        await conn.ExecAsync($"CREATE TABLE {table} (id int, name text)");

        var data = string.Concat(Enumerable.Range(0, Rows).Select(i => $"{i}\tp{i}\n"));
        var psql = Path.Combine(Pg.BinDir, "psql");
        var env = new Dictionary<string, string> { ["PGPASSWORD"] = PostgresInstance.AppPassword };
        var r = await ProcessRunner.RunAsync(psql,
            ["-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", host.PortText, "-U", PostgresInstance.AppUser, PostgresInstance.AppDatabase,
             "-c", $"\\copy {table} FROM STDIN"],
            TimeSpan.FromSeconds(60), env: env, stdin: data);
        r.EnsureSuccess("psql \\copy from");
        Assert.Equal((long)Rows, await conn.ScalarAsync<long>($"SELECT count(*) FROM {table}"));

        r = await ProcessRunner.RunAsync(psql,
            ["-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", host.PortText, "-U", PostgresInstance.AppUser, PostgresInstance.AppDatabase,
             "-c", $"COPY {table} TO STDOUT"],
            TimeSpan.FromSeconds(60), env: env);
        r.EnsureSuccess("psql copy to stdout");
        Assert.Equal(Rows, r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        await conn.ExecAsync($"DROP TABLE {table}");
    }
}
