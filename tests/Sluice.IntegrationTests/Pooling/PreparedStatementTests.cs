using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using NpgsqlTypes;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;
using static Sluice.Testing.Wire.PgWire;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>
/// Protocol-level named prepared statements in transaction pooling (PgBouncer 1.21+ max_prepared_statements):
/// statements follow the client onto whatever server its transaction lands on, are shared by query text as
/// SLUICE_n, evicted LRU per server, and Sluice's reply bookkeeping stays in step through errors.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed partial class PreparedStatementTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    private static void NoReset(NpgsqlConnectionStringBuilder b) => b.NoResetOnClose = true;

    private Task<TestPooler> StartAsync(int poolSize, Action<IniBuilder>? more = null) =>
        TestPooler.StartAsync(Pg, output, ini =>
        {
            ini.Setting("pool_mode", "transaction").Setting("default_pool_size", poolSize);
            more?.Invoke(ini);
        });

    [GeneratedRegex(@"^SLUICE_\d+$")]
    private static partial Regex ServerName();

    /// <summary>Names of the prepared statements on whatever server runs this (unprepared) query.</summary>
    private static async Task<List<string>> ServerStatementNamesAsync(NpgsqlConnection conn)
    {
        var names = new List<string>();
        await using var cmd = new NpgsqlCommand("SELECT name FROM pg_prepared_statements ORDER BY name", conn);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }

    private sealed class ThreeStatements : IAsyncDisposable
    {
        public required NpgsqlCommand Double { get; init; }

        public required NpgsqlCommand Concat { get; init; }

        public required NpgsqlCommand Count { get; init; }

        public static ThreeStatements Create(NpgsqlConnection conn) => new()
        {
            Double = new NpgsqlCommand("SELECT $1::int * 2", conn) { Parameters = { new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer } } },
            Concat = new NpgsqlCommand("SELECT $1::text || '-' || $2::text", conn)
            {
                Parameters = { new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text }, new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text } },
            },
            Count = new NpgsqlCommand("SELECT count(*) FROM generate_series(1, $1::int)", conn) { Parameters = { new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer } } },
        };

        public async Task PrepareAsync()
        {
            await Double.PrepareAsync();
            await Concat.PrepareAsync();
            await Count.PrepareAsync();
        }

        /// <summary>Runs all three with values derived from (client, i) and checks the answers.</summary>
        public async Task RunAndCheckAsync(int client, int i)
        {
            ((NpgsqlParameter<int>)Double.Parameters[0]).TypedValue = client * 1000 + i;
            Assert.Equal((client * 1000 + i) * 2, (int)(await Double.ExecuteScalarAsync())!);

            ((NpgsqlParameter<string>)Concat.Parameters[0]).TypedValue = "c" + client;
            ((NpgsqlParameter<string>)Concat.Parameters[1]).TypedValue = "i" + i;
            Assert.Equal($"c{client}-i{i}", (string)(await Concat.ExecuteScalarAsync())!);

            ((NpgsqlParameter<int>)Count.Parameters[0]).TypedValue = i + 1;
            Assert.Equal(i + 1L, (long)(await Count.ExecuteScalarAsync())!);
        }

        public async ValueTask DisposeAsync()
        {
            await Double.DisposeAsync();
            await Concat.DisposeAsync();
            await Count.DisposeAsync();
        }
    }

    [Fact]
    public async Task ExplicitPrepare_TwentyClients_PoolOfFive_ReusedAcrossManyTransactions()
    {
        const int Clients = 20;
        const int Iterations = 50;
        await using var host = await StartAsync(5);

        var serversSeen = new System.Collections.Concurrent.ConcurrentDictionary<int, byte>();
        var workers = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            await using var conn = await host.OpenAsync(tweak: NoReset);
            await using var statements = ThreeStatements.Create(conn);
            await statements.PrepareAsync();
            Assert.True(statements.Double.IsPrepared);
            for (var i = 0; i < Iterations; i++)
            {
                if (i % 5 == 0)
                {
                    // Some in explicit transactions, the rest autocommit: each lands on whatever server is free.
                    await using var tx = await conn.BeginTransactionAsync();
                    serversSeen.TryAdd(await conn.ScalarAsync<int>("SELECT pg_backend_pid()"), 0);
                    await statements.RunAndCheckAsync(c, i);
                    await tx.CommitAsync();
                }
                else
                {
                    await statements.RunAndCheckAsync(c, i);
                }
            }
        })).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(120));

        output.WriteLine($"servers seen: {serversSeen.Count}, registry: {host.Pooler.Statements.Count}");
        Assert.InRange(serversSeen.Count, 2, 5);
        // 20 clients × 3 statements share 3 distinct statements.
        Assert.Equal(3, host.Pooler.Statements.Count);

        await using var check = await host.OpenAsync();
        var names = await ServerStatementNamesAsync(check);
        output.WriteLine("on one server: " + string.Join(", ", names));
        Assert.NotEmpty(names);
        Assert.All(names, n => Assert.Matches(ServerName(), n));
        Assert.InRange(names.Count, 1, 3);
        Assert.DoesNotContain(host.LogLines, l => l.Contains("prepared statement", StringComparison.OrdinalIgnoreCase) && l.Contains("Error", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AutoPrepare_TwentyClients_PoolOfFive_ReusedAcrossManyTransactions()
    {
        const int Clients = 20;
        const int Iterations = 50;
        await using var host = await StartAsync(5);

        var workers = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            await using var conn = await host.OpenAsync(tweak: b =>
            {
                b.NoResetOnClose = true;
                b.MaxAutoPrepare = 10;
                b.AutoPrepareMinUsages = 2;
            });
            for (var i = 0; i < Iterations; i++)
            {
                // New command objects every time: Npgsql prepares by SQL text after two uses.
                await using var statements = ThreeStatements.Create(conn);
                if (i % 7 == 3)
                {
                    await using var tx = await conn.BeginTransactionAsync();
                    await statements.RunAndCheckAsync(c, i);
                    await tx.CommitAsync();
                }
                else
                {
                    await statements.RunAndCheckAsync(c, i);
                }
                if (i == Iterations - 1)
                {
                    Assert.True(statements.Double.IsPrepared, "Npgsql should have auto-prepared the statement");
                }
            }
        })).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(120));

        output.WriteLine($"registry: {host.Pooler.Statements.Count}");
        Assert.InRange(host.Pooler.Statements.Count, 3, 10);
        await using var check = await host.OpenAsync();
        Assert.All(await ServerStatementNamesAsync(check), n => Assert.Matches(ServerName(), n));
    }

    [Fact]
    public async Task Eviction_MaxPreparedStatementsTwo_ClientCyclesThroughFiveStatements()
    {
        await using var host = await StartAsync(2, ini => ini.Setting("max_prepared_statements", 2));

        async Task Client(int c)
        {
            await using var conn = await host.OpenAsync(tweak: NoReset);
            var commands = new List<NpgsqlCommand>();
            for (var k = 1; k <= 5; k++)
            {
                var cmd = new NpgsqlCommand($"SELECT $1::int + {k}", conn) { Parameters = { new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer } } };
                await cmd.PrepareAsync();
                commands.Add(cmd);
            }
            for (var round = 0; round < 20; round++)
            {
                for (var k = 1; k <= 5; k++)
                {
                    var cmd = commands[(round + k) % 5];
                    var added = (round + k) % 5 + 1;
                    ((NpgsqlParameter<int>)cmd.Parameters[0]).TypedValue = c * 100 + round;
                    Assert.Equal(c * 100 + round + added, (int)(await cmd.ExecuteScalarAsync())!);
                }
                if (round % 4 == 0)
                {
                    // Several statements in one transaction, over capacity within it.
                    await using var tx = await conn.BeginTransactionAsync();
                    foreach (var (cmd, k) in commands.Select((cmd, i) => (cmd, i + 1)))
                    {
                        ((NpgsqlParameter<int>)cmd.Parameters[0]).TypedValue = round;
                        Assert.Equal(round + k, (int)(await cmd.ExecuteScalarAsync())!);
                    }
                    await tx.CommitAsync();
                }
            }
            foreach (var cmd in commands)
            {
                await cmd.DisposeAsync();
            }
        }

        // One client alone, then three at once on the two servers.
        await Client(0);
        await Task.WhenAll(Client(1), Client(2), Client(3)).WaitAsync(TimeSpan.FromSeconds(90));

        await using var check = await host.OpenAsync();
        var names = await ServerStatementNamesAsync(check);
        output.WriteLine("on one server: " + string.Join(", ", names));
        Assert.InRange(names.Count, 0, 2);
        Assert.Equal(5, host.Pooler.Statements.Count);
    }

    private static async Task<List<object?>> RunBatchAsync(NpgsqlBatch batch)
    {
        var results = new List<object?>();
        await using var reader = await batch.ExecuteReaderAsync();
        do
        {
            while (await reader.ReadAsync())
            {
                results.Add(reader.GetValue(0));
            }
        }
        while (await reader.NextResultAsync());
        return results;
    }

    private static NpgsqlBatch ThreeCommandBatch(NpgsqlConnection conn) => new(conn)
    {
        BatchCommands =
        {
            new NpgsqlBatchCommand("SELECT $1::int + 1") { Parameters = { new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer } } },
            new NpgsqlBatchCommand("SELECT 10 / $1::int") { Parameters = { new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer } } },
            new NpgsqlBatchCommand("SELECT $1::int * 3") { Parameters = { new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer } } },
        },
    };

    private static void SetBatch(NpgsqlBatch batch, params int[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            ((NpgsqlParameter<int>)batch.BatchCommands[i].Parameters[0]).TypedValue = values[i];
        }
    }

    [Fact]
    public async Task PipelineError_OnPreparedStatements_ConnectionStaysUsable()
    {
        await using var host = await StartAsync(2);

        async Task Client(int c)
        {
            await using var conn = await host.OpenAsync(tweak: NoReset);
            await using var batch = ThreeCommandBatch(conn);
            await batch.PrepareAsync();
            await using var single = new NpgsqlCommand("SELECT $1::int - 1", conn) { Parameters = { new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer } } };
            await single.PrepareAsync();
            for (var round = 0; round < 15; round++)
            {
                var fail = (round + c) % 3 == 0;
                SetBatch(batch, round, fail ? 0 : 5, round);
                if (fail)
                {
                    var e = await Assert.ThrowsAsync<PostgresException>(() => RunBatchAsync(batch));
                    Assert.Equal(PostgresErrorCodes.DivisionByZero, e.SqlState);
                }
                else
                {
                    Assert.Equal(new[] { round + 1, 2, round * 3 }, (await RunBatchAsync(batch)).Cast<int>());
                }
                // The same connection goes on, with a prepared and an unprepared statement.
                ((NpgsqlParameter<int>)single.Parameters[0]).TypedValue = round;
                Assert.Equal(round - 1, (int)(await single.ExecuteScalarAsync())!);
                Assert.Equal(c, await conn.ScalarAsync<int>("SELECT $1::int", c));
                if (round % 5 == 4)
                {
                    // An error inside an explicit transaction, then rollback.
                    await using var tx = await conn.BeginTransactionAsync();
                    SetBatch(batch, 1, 0, 1);
                    await Assert.ThrowsAsync<PostgresException>(() => RunBatchAsync(batch));
                    await tx.RollbackAsync();
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(Client)).WaitAsync(TimeSpan.FromSeconds(90));
    }

    /// <summary>
    /// The batch lands on a server lacking its statements; the error in the middle makes PostgreSQL skip the Parse Sluice
    /// injected for the third statement, so Sluice must forget it and prepare it again next time.
    /// </summary>
    [Fact]
    public async Task PipelineError_BeforeAnInjectedParse_TheSkippedParseIsRedoneNextTime()
    {
        await using var host = await StartAsync(2);
        await using var a = await host.OpenAsync(tweak: NoReset);
        await using var holderX = await host.OpenAsync();
        await using var holderY = await host.OpenAsync();

        // X is held by holderX; A prepares on Y.
        await using var txX = await holderX.BeginTransactionAsync();
        var pidX = await holderX.ScalarAsync<int>("SELECT pg_backend_pid()");

        await using var batch = new NpgsqlBatch(a)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("SELECT pg_backend_pid()"),
                new NpgsqlBatchCommand("SELECT 10 / $1::int") { Parameters = { new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer } } },
                new NpgsqlBatchCommand("SELECT $1::int * 3") { Parameters = { new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer } } },
            },
        };
        await batch.PrepareAsync();
        ((NpgsqlParameter<int>)batch.BatchCommands[1].Parameters[0]).TypedValue = 5;
        ((NpgsqlParameter<int>)batch.BatchCommands[2].Parameters[0]).TypedValue = 7;
        var first = await RunBatchAsync(batch);
        var pidY = (int)first[0]!;
        Assert.NotEqual(pidX, pidY);
        Assert.Equal<object?>(new object[] { pidY, 2, 21 }, first);

        // Y is taken by holderY, X freed: A's next batch must land on X, where none of its statements exist.
        await using var txY = await holderY.BeginTransactionAsync();
        Assert.Equal(pidY, await holderY.ScalarAsync<int>("SELECT pg_backend_pid()"));
        await txX.CommitAsync();

        ((NpgsqlParameter<int>)batch.BatchCommands[1].Parameters[0]).TypedValue = 0;
        var results = new List<object?>();
        var e = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var reader = await batch.ExecuteReaderAsync();
            do
            {
                while (await reader.ReadAsync())
                {
                    results.Add(reader.GetValue(0));
                }
            }
            while (await reader.NextResultAsync());
        });
        Assert.Equal(PostgresErrorCodes.DivisionByZero, e.SqlState);
        Assert.Equal<object?>(new object[] { pidX }, results);

        // Again on X (Y still held): the third statement's Parse never ran there and must be sent now.
        ((NpgsqlParameter<int>)batch.BatchCommands[1].Parameters[0]).TypedValue = 2;
        Assert.Equal<object?>(new object[] { pidX, 5, 21 }, await RunBatchAsync(batch));
        await txY.CommitAsync();

        // And wherever it lands next.
        Assert.Equal<object?>([5, 21], (await RunBatchAsync(batch)).Skip(1));
    }

    [Fact]
    public async Task DeallocateAll_AsSimpleQuery_ThenTheSameNamesArePreparedAgain()
    {
        await using var host = await StartAsync(2);
        await using var w = await host.LoginOkAsync();

        async Task ParseBindExecute(string name, string query, string value, string expected)
        {
            await w.SendAsync(Parse(name, query, 23), Bind("", name, value), Execute(), Sync());
            var replies = await w.ReadRepliesAsync();
            Assert.True(Types(replies) == "12DCZ", Show(replies));
            Assert.Equal(expected, replies[2].Values[0]);
        }

        await ParseBindExecute("s1", "SELECT $1::int * 2", "21", "42");
        await ParseBindExecute("s2", "SELECT $1::int + 100", "1", "101");

        await w.SendAsync(Query("SELECT name FROM pg_prepared_statements ORDER BY name"));
        var listed = await w.ReadRepliesAsync();
        Assert.All(listed.Where(m => m.Type == 'D'), m => Assert.Matches(ServerName(), m.Values[0]!));

        await w.SendAsync(Query("DEALLOCATE ALL"));
        var dealloc = await w.ReadRepliesAsync();
        Assert.True(Types(dealloc) == "CZ", Show(dealloc));
        Assert.Equal("DEALLOCATE ALL", dealloc[0].Text);

        // Same names again (Sluice forgot them for this client) and the server really prepares them again.
        await ParseBindExecute("s1", "SELECT $1::int * 2", "50", "100");
        await ParseBindExecute("s2", "SELECT $1::int + 100", "2", "102");

        // Bind-only reuse in later transactions.
        for (var i = 0; i < 5; i++)
        {
            await w.SendAsync(Bind("", "s1", i.ToString(CultureInfo.InvariantCulture)), Execute(), Sync());
            var r = await w.ReadRepliesAsync();
            Assert.True(Types(r) == "2DCZ", Show(r));
            Assert.Equal((i * 2).ToString(CultureInfo.InvariantCulture), r[1].Values[0]);
        }
    }

    [Fact]
    public async Task DeallocateAll_ViaNpgsqlUnprepareAll_ThenRepreparedAndUsedAgain()
    {
        await using var host = await StartAsync(2);
        await using var conn = await host.OpenAsync(tweak: NoReset);
        await using var statements = ThreeStatements.Create(conn);
        await statements.PrepareAsync();
        for (var i = 0; i < 5; i++)
        {
            await statements.RunAndCheckAsync(1, i);
        }

        conn.UnprepareAll();

        await statements.PrepareAsync();
        for (var i = 0; i < 10; i++)
        {
            await statements.RunAndCheckAsync(2, i);
        }
        Assert.True(statements.Double.IsPrepared);
    }

    [Fact]
    public async Task DiscardAll_AsSimpleQuery_ClearsTheMaps()
    {
        await using var host = await StartAsync(1);
        await using var w = await host.LoginOkAsync();

        await w.SendAsync(Parse("s1", "SELECT 7"), Bind("", "s1"), Execute(), Sync());
        Assert.Equal("12DCZ", Types(await w.ReadRepliesAsync()));
        await w.SendAsync(Query("DISCARD ALL"));
        var discard = await w.ReadRepliesAsync();
        Assert.True(Types(discard) == "CZ", Show(discard));

        await w.SendAsync(Parse("s1", "SELECT 7"), Bind("", "s1"), Execute(), Sync());
        var again = await w.ReadRepliesAsync();
        Assert.True(Types(again) == "12DCZ", Show(again));
        Assert.Equal("7", again[2].Values[0]);
    }

    [Fact]
    public async Task SharedStatement_SecondClient_GetsParseCompleteInOrder_WithoutASecondServerStatement()
    {
        await using var host = await StartAsync(1);
        await using var w1 = await host.LoginOkAsync();
        await using var w2 = await host.LoginOkAsync();

        await w1.SendAsync(Parse("mine", "SELECT $1::int + 1", 23), Describe('S', "mine"), Sync());
        var r1 = await w1.ReadRepliesAsync();
        Assert.True(Types(r1) == "1tTZ", Show(r1));

        // Same text, other name, other client, same (only) server: Sluice answers the Parse itself, in order.
        await w2.SendAsync(Parse("theirs", "SELECT $1::int + 1", 23), Bind("", "theirs", "41"), Describe('P', ""), Execute(), Sync());
        var r2 = await w2.ReadRepliesAsync();
        Assert.True(Types(r2) == "12TDCZ", Show(r2));
        Assert.Equal("42", r2[3].Values[0]);

        await w2.SendAsync(Query("SELECT name, statement FROM pg_prepared_statements"));
        var listed = (await w2.ReadRepliesAsync()).Where(m => m.Type == 'D').ToList();
        Assert.True(listed.Count == 1, Show(listed));
        Assert.Matches(ServerName(), listed[0].Values[0]!);
        Assert.Equal("SELECT $1::int + 1", listed[0].Values[1]);
    }

    [Fact]
    public async Task CloseStatement_IsAnsweredBySluice_InOrder_AndImmediatelyWithFlush()
    {
        await using var host = await StartAsync(1);
        await using var w = await host.LoginOkAsync();

        await w.SendAsync(Parse("s1", "SELECT 1"), Parse("s2", "SELECT 2"), Sync());
        Assert.Equal("11Z", Types(await w.ReadRepliesAsync()));

        // Close between real work: CloseComplete comes exactly where PostgreSQL would send it.
        await w.SendAsync(Bind("", "s1"), Execute(), Close('S', "s1"), Bind("", "s2"), Execute(), Sync());
        var r = await w.ReadRepliesAsync();
        Assert.True(Types(r) == "2DC32DCZ", Show(r));

        // Close then Flush with nothing else outstanding: answered at once.
        await w.SendAsync(Close('S', "s2"), Flush());
        var closed = await w.ReadCountAsync(1);
        Assert.Equal('3', closed[0].Type);
        await w.SendAsync(Sync());
        Assert.Equal("Z", Types(await w.ReadRepliesAsync()));

        // The statements stay on the server for other clients.
        await w.SendAsync(Query("SELECT count(*) FROM pg_prepared_statements"));
        Assert.Equal("2", (await w.ReadRepliesAsync()).First(m => m.Type == 'D').Values[0]);
    }

    [Fact]
    public async Task UnknownStatementName_DisconnectsTheClient_LikePgBouncer()
    {
        await using var host = await StartAsync(1);
        await using var w = await host.LoginOkAsync();

        await w.SendAsync(Bind("", "never_prepared"), Execute(), Sync());
        var r = await w.ReadRepliesAsync();
        Assert.Equal('E', r[^1].Type);
        Assert.Equal("FATAL", r[^1].Field('S'));
        Assert.Contains("prepared statement did not exist", r[^1].Field('M'), StringComparison.Ordinal);

        // The server was closed with the client (its state was unknown), a new client works.
        await using var conn = await host.OpenAsync();
        Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));
    }

    [Fact]
    public async Task Pgbench_PreparedSelectOnly_TwentyClientsOnPoolOfFive_NoFailures()
    {
        var db = Sql.UniqueName("pgb");
        await Pg.ExecuteAsync($"CREATE DATABASE {db} OWNER {PostgresInstance.AppUser}");
        try
        {
            var port = Pg.Port.ToString(CultureInfo.InvariantCulture);
            var init = await Pg.RunPgToolAsync("pgbench", ["-i", "-s", "1", "-q", "-h", Pg.SocketDir, "-p", port, "-U", PostgresInstance.AppUser, db]);
            output.WriteLine(init.ToString());

            await using (var host = await StartAsync(5, ini => ini.Database(db, Pg.LibpqConnectString(db))))
            {
                var run = await ProcessRunner.RunAsync(
                    Path.Combine(Pg.BinDir, "pgbench"),
                    ["-M", "prepared", "-S", "-c", "20", "-j", "2", "-T", "5", "-h", "127.0.0.1", "-p", host.PortText, "-U", PostgresInstance.AppUser, db],
                    TimeSpan.FromSeconds(60),
                    env: new Dictionary<string, string> { ["PGPASSWORD"] = PostgresInstance.AppPassword },
                    runAsUser: UnprivilegedUser.Name,
                    workingDirectory: "/tmp");
                output.WriteLine(run.ToString());
                Assert.True(run.Success, run + "\n" + host.LogTail());
                Assert.Contains("number of failed transactions: 0 ", run.StdOut, StringComparison.Ordinal);
                var processed = Regex.Match(run.StdOut, @"number of transactions actually processed: (\d+)");
                Assert.True(processed.Success, run.StdOut);
                Assert.True(long.Parse(processed.Groups[1].Value, CultureInfo.InvariantCulture) > 100, run.StdOut);
                Assert.Equal(1, host.Pooler.Statements.Count);
            }
        }
        finally
        {
            await Pg.ExecuteAsync($"DROP DATABASE IF EXISTS {db} WITH (FORCE)");
        }
    }
}
