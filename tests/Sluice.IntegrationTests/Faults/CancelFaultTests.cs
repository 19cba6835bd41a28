using Npgsql;
using Sluice.Testing.FakePostgres;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Faults;

/// <summary>A client's CancelRequest must reach the server with the server's own BackendKeyData.</summary>
public sealed class CancelFaultTests(ITestOutputHelper output)
{
    private const int FakePidBase = 70_000;
    private const int FakeKeyBase = 0x5EC0000;

    [Fact]
    public async Task Cancel_ReachesServerWithTheServersKey_NotSluices()
    {
        var queryRunning = new TaskCompletionSource<FakeServerConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelSeen = new TaskCompletionSource<FakeCancelRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                await c.CompleteLoginAsync(FakePidBase + c.Id, FakeKeyBase + c.Id);
                await c.ServeQueriesAsync(async (conn, sql) =>
                {
                    if (sql.Contains("pg_sleep", StringComparison.Ordinal))
                    {
                        queryRunning.TrySetResult(conn);
                        var cancel = await conn.WaitForCancelRequestAsync(TimeSpan.FromSeconds(15));
                        cancelSeen.TrySetResult(cancel);
                        await conn.SendRawAsync([.. PgWire.Error("ERROR", "57014", "canceling statement due to user request"), .. PgWire.ReadyForQuery('I')]);
                        return;
                    }
                    await conn.SendResultAsync("x", "1");
                    await conn.SendReadyForQueryAsync();
                });
            },
            output,
            "pool_mode = transaction");

        await using var client = await host.LoginOkAsync();
        var (sluicePid, sluiceKey) = (client.Login!.ProcessId, client.Login.SecretKey);
        await client.SendQueryAsync("SELECT pg_sleep(60)");
        var running = await queryRunning.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await RawPgClient.SendCancelAsync(host.EndPoint, sluicePid, sluiceKey);

        var cancel = await cancelSeen.Task.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(FakePidBase + running.Id, cancel.ProcessId);
        Assert.Equal(FakeKeyBase + running.Id, cancel.SecretKey);
        Assert.False((sluicePid, sluiceKey) == (cancel.ProcessId, cancel.SecretKey), "Sluice forwarded its own key");

        var reply = await client.ReadUntilReadyAsync();
        Assert.Equal("57014", reply.Single(m => m.Type == 'E').Fields['C']);
        Assert.Equal('I', reply[^1].TransactionStatus);
        // The connection keeps working.
        Assert.Equal('Z', (await client.QueryAsync("SELECT 1"))[^1].Type);
        Assert.Equal(1, host.Fake.CancelCount);
    }

    [Fact]
    public async Task Cancel_WithWrongKey_IsDropped()
    {
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                await c.CompleteLoginAsync(FakePidBase + c.Id, FakeKeyBase + c.Id);
                await c.ServeQueriesAsync();
            },
            output);
        await using var client = await host.LoginOkAsync();

        await RawPgClient.SendCancelAsync(host.EndPoint, client.Login!.ProcessId, client.Login.SecretKey ^ 1);
        await Task.Delay(200);

        Assert.Equal(0, host.Fake.CancelCount);
    }

    [Fact]
    public async Task Cancel_ViaNpgsql_ExtendedProtocol()
    {
        var cancelSeen = new TaskCompletionSource<FakeCancelRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                await c.CompleteLoginAsync(FakePidBase + c.Id, FakeKeyBase + c.Id);
                // Npgsql sends Parse/Bind/Describe/Execute/Sync: read through the Sync, then "run" until cancelled.
                while (await c.ReadMessageAsync() is { } m)
                {
                    if (m.Type == 'X')
                    {
                        return;
                    }
                    if (m.Type != 'S')
                    {
                        continue;
                    }
                    var cancel = await c.WaitForCancelRequestAsync(TimeSpan.FromSeconds(15));
                    cancelSeen.TrySetResult(cancel);
                    await c.SendRawAsync([.. PgWire.Error("ERROR", "57014", "canceling statement due to user request"), .. PgWire.ReadyForQuery('I')]);
                }
            },
            output);

        await using var connection = new NpgsqlConnection(host.ConnectionString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_sleep(60)", connection);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => command.ExecuteNonQueryAsync(cts.Token)).WaitAsync(TimeSpan.FromSeconds(20));

        var postgres = Assert.IsType<PostgresException>(e.InnerException);
        Assert.Equal("57014", postgres.SqlState);
        var cancel = await cancelSeen.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var server = host.Fake.Connections.Single();
        Assert.Equal(FakePidBase + server.Id, cancel.ProcessId);
        Assert.Equal(FakeKeyBase + server.Id, cancel.SecretKey);
        Assert.NotEqual(FakePidBase + server.Id, connection.ProcessID);
    }
}
