using System.Buffers.Binary;
using System.Net.Sockets;
using Sluice.Testing.FakePostgres;
using Sluice.Testing.Wire;
using static Sluice.Tests.Maintenance.FakeClock;

namespace Sluice.Tests.Maintenance;

/// <summary>
/// Every janitor-driven setting on a fake clock: each test first moves the clock to just before the limit and checks
/// that nothing happened, then just past it and checks what PgBouncer does (pgbouncer.md §1.5, §1.7, §5.1).
/// </summary>
public sealed class FakeClockTimeoutTests
{
    private static readonly TimeSpan Seconds1 = TimeSpan.FromSeconds(1);

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    private static char Status(RawQueryResult reply) => reply[^1].TransactionStatus;

    private static async Task<RawQueryResult> OkAsync(RawPgClient client, string sql)
    {
        var reply = await client.QueryAsync(sql);
        Assert.True(reply.Count > 0 && reply[^1].Type == 'Z', $"{sql}: " + string.Join(" | ", reply));
        Assert.DoesNotContain(reply, m => m.Type == 'E');
        return reply;
    }

    // ------------------------------------------------------------------ query_wait_timeout

    [Fact]
    public async Task QueryWaitTimeout_QueuedClientGetsFatalOnlyAfterTheTimeout()
    {
        await using var host = await StartAsync(null, "default_pool_size = 1", "query_wait_timeout = 30");
        await using var holder = await host.LoginOkAsync();
        Assert.Equal('T', Status(await OkAsync(holder, "BEGIN")));
        await using var waiter = await host.LoginOkAsync();
        await waiter.SendQueryAsync("SELECT 1");
        await EventuallyAsync(() => host.Pool.WaitingCount == 1, "the second client queues");

        await host.AdvanceAsync(S(29));
        await AssertSilentAsync(waiter, "29 s of 30 s query_wait_timeout");
        Assert.Equal(1, host.Pool.WaitingCount);

        await host.AdvanceAsync(S(2));
        await AssertFatalThenClosedAsync(waiter, "query_wait_timeout");
        Assert.Equal(0, host.Pool.WaitingCount);
        Assert.Equal('I', Status(await OkAsync(holder, "COMMIT")));
        Assert.Equal(1, host.Fake.StartupCount);
    }

    [Fact]
    public async Task QueryWaitTimeout_Zero_WaitsForever()
    {
        await using var host = await StartAsync(null, "default_pool_size = 1", "query_wait_timeout = 0");
        await using var holder = await host.LoginOkAsync();
        await OkAsync(holder, "BEGIN");
        await using var waiter = await host.LoginOkAsync();
        await waiter.SendQueryAsync("SELECT 1");
        await EventuallyAsync(() => host.Pool.WaitingCount == 1, "the second client queues");

        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await AssertSilentAsync(waiter, "query_wait_timeout = 0 disables the limit");

        await OkAsync(holder, "COMMIT");
        var reply = await waiter.ReadUntilReadyAsync();
        Assert.Contains(reply, m => m.Type == 'D');
    }

    // ------------------------------------------------------------------ reserve_pool

    [Fact]
    public async Task ReservePool_ExtraServerOpenedOnlyAfterReservePoolTimeout()
    {
        await using var host = await StartAsync(null, "default_pool_size = 1", "reserve_pool_size = 1", "reserve_pool_timeout = 5");
        await using var holder = await host.LoginOkAsync();
        await OkAsync(holder, "BEGIN");
        await using var waiter = await host.LoginOkAsync();
        await waiter.SendQueryAsync("SELECT 1");
        await EventuallyAsync(() => host.Pool.WaitingCount == 1, "the second client queues");

        await host.AdvanceAsync(S(4));
        await AssertSilentAsync(waiter, "4 s of 5 s reserve_pool_timeout");
        Assert.Equal(1, host.Fake.StartupCount);

        await host.AdvanceAsync(S(2));
        var reply = await waiter.ReadUntilReadyAsync();
        Assert.Contains(reply, m => m.Type == 'D');
        Assert.Equal(2, host.Fake.StartupCount);
        Assert.Equal(2, host.Pool.ServerCount);

        // Pool size + reserve is the ceiling: a third waiting transaction opens nothing more.
        await OkAsync(waiter, "BEGIN");
        await using var third = await host.LoginOkAsync();
        await third.SendQueryAsync("SELECT 1");
        await EventuallyAsync(() => host.Pool.WaitingCount == 1, "the third client queues");
        await host.AdvanceAsync(S(10));
        await AssertSilentAsync(third, "both the pool and the reserve are in use");
        Assert.Equal(2, host.Fake.StartupCount);
        await OkAsync(waiter, "COMMIT");
        Assert.Contains(await third.ReadUntilReadyAsync(), m => m.Type == 'D');
    }

    [Fact]
    public async Task ReservePool_Zero_NoExtraServerEvenAfterLongWait()
    {
        await using var host = await StartAsync(null, "default_pool_size = 1", "reserve_pool_size = 0", "reserve_pool_timeout = 1");
        await using var holder = await host.LoginOkAsync();
        await OkAsync(holder, "BEGIN");
        await using var waiter = await host.LoginOkAsync();
        await waiter.SendQueryAsync("SELECT 1");
        await EventuallyAsync(() => host.Pool.WaitingCount == 1, "the second client queues");

        await host.AdvanceAsync(S(60));
        await AssertSilentAsync(waiter, "no reserve pool");
        Assert.Equal(1, host.Fake.StartupCount);
        await OkAsync(holder, "COMMIT");
        Assert.Contains(await waiter.ReadUntilReadyAsync(), m => m.Type == 'D');
    }

    // ------------------------------------------------------------------ server_lifetime

    [Fact]
    public async Task ServerLifetime_IdleServerOlderThanTheLifetime_IsClosedOnTick()
    {
        await using var host = await StartAsync(null, "server_lifetime = 60");
        await using var client = await host.LoginOkAsync();
        await OkAsync(client, "SELECT 1");
        var first = host.Fake.Connections.Single();
        await EventuallyAsync(() => host.Pool.IdleCount == 1, "the server is back in the pool");

        await host.AdvanceAsync(S(59));
        Assert.False(await ServerClosedAsync(first, Quiet), "closed before server_lifetime");
        Assert.Equal(1, host.Pool.ServerCount);

        await host.AdvanceAsync(S(2));
        Assert.True(await ServerClosedAsync(first, TimeSpan.FromSeconds(5)), "idle server past server_lifetime was kept");
        await EventuallyAsync(() => host.Pool.ServerCount == 0, "the pool forgets the closed server");

        // The client never noticed: its next transaction gets a new server.
        await AssertSilentAsync(client, "server_lifetime does not concern the client");
        await OkAsync(client, "SELECT 1");
        Assert.Equal(2, host.Fake.StartupCount);
    }

    [Fact]
    public async Task ServerLifetime_ServerInUse_IsClosedWhenReleased_NotBefore()
    {
        await using var host = await StartAsync(null, "server_lifetime = 60");
        await using var client = await host.LoginOkAsync();
        Assert.Equal('T', Status(await OkAsync(client, "BEGIN")));
        var first = host.Fake.Connections.Single();

        await host.AdvanceAsync(S(61));
        Assert.False(await ServerClosedAsync(first, Quiet), "a linked server was closed mid-transaction");
        Assert.Equal('T', Status(await OkAsync(client, "SELECT 1")));

        Assert.Equal('I', Status(await OkAsync(client, "COMMIT")));
        Assert.True(await ServerClosedAsync(first, TimeSpan.FromSeconds(5)), "the old server went back to the pool");
        await OkAsync(client, "SELECT 1");
        Assert.Equal(2, host.Fake.StartupCount);
    }

    // ------------------------------------------------------------------ server_idle_timeout

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task ServerIdleTimeout_ClosesIdleServers_KeepsMinPoolSize(int minPoolSize)
    {
        await using var host = await StartAsync(null, "default_pool_size = 3", "server_idle_timeout = 30", $"min_pool_size = {minPoolSize}");
        await using var a = await host.LoginOkAsync();
        await using var b = await host.LoginOkAsync();
        await OkAsync(a, "BEGIN");
        await OkAsync(b, "BEGIN");   // a second server for the second open transaction
        await OkAsync(a, "COMMIT");
        await OkAsync(b, "COMMIT");
        Assert.Equal(2, host.Fake.StartupCount);
        // A server goes back to the pool just after its ReadyForQuery reached the client.
        await EventuallyAsync(() => host.Pool.IdleCount == 2, "both servers idle");
        var servers = host.Fake.Connections;

        await host.AdvanceAsync(S(29));
        await Task.Delay(Quiet);
        Assert.All(servers, s => Assert.False(s.ScriptDone.IsCompleted, "closed before server_idle_timeout"));

        await host.AdvanceAsync(S(2));
        await EventuallyAsync(() => host.Pool.ServerCount == minPoolSize, $"idle servers closed down to min_pool_size {minPoolSize}");
        await EventuallyAsync(() => servers.Count(s => s.ScriptDone.IsCompleted) == 2 - minPoolSize, "the fake sees the closes");

        await host.AdvanceAsync(S(120));
        await Task.Delay(Quiet);
        Assert.Equal(minPoolSize, host.Pool.ServerCount);
        Assert.Equal(2, host.Fake.StartupCount);
        await OkAsync(a, "SELECT 1");
    }

    // ------------------------------------------------------------------ min_pool_size

    [Fact]
    public async Task MinPoolSize_ServersOpenedOnTick_OnceThePoolHasAClient()
    {
        await using var host = await StartAsync(null, "default_pool_size = 5", "min_pool_size = 3");
        await host.AdvanceAsync(Seconds1);
        Assert.Equal(0, host.Fake.StartupCount);

        await using var client = await host.LoginOkAsync();
        await Task.Delay(Quiet);
        Assert.Equal(1, host.Fake.StartupCount);   // only the welcome server: the minimum waits for the janitor

        await host.AdvanceAsync(Seconds1);
        await EventuallyAsync(() => host.Fake.StartupCount == 3 && host.Pool.ServerCount == 3 && host.Pool.ConnectingCount == 0,
            "min_pool_size servers opened");

        await host.AdvanceAsync(Seconds1);
        await host.AdvanceAsync(Seconds1);
        await Task.Delay(Quiet);
        Assert.Equal(3, host.Fake.StartupCount);
        Assert.Equal(3, host.Pool.ServerCount);
    }

    [Fact]
    public async Task MinPoolSize_IsRestoredAfterServersAreRetired()
    {
        await using var host = await StartAsync(null, "default_pool_size = 5", "min_pool_size = 2", "server_lifetime = 100");
        await using var client = await host.LoginOkAsync();
        await host.AdvanceAsync(Seconds1);
        await EventuallyAsync(() => host.Pool.IdleCount == 2 && host.Pool.ConnectingCount == 0, "min_pool_size servers opened");

        await host.AdvanceAsync(S(101));   // both past their lifetime: closed, and replaced in the same tick
        await EventuallyAsync(() => host.Fake.StartupCount == 4 && host.Pool.ConnectingCount == 0, "replacements opened");
        Assert.Equal(2, host.Pool.ServerCount);
        Assert.Equal(2, host.Fake.Connections.Count(c => c.ScriptDone.IsCompleted));
    }

    // ------------------------------------------------------------------ client_idle_timeout

    [Fact]
    public async Task ClientIdleTimeout_IdleClientDisconnectedOnlyAfterTheTimeout_QueriesResetTheClock()
    {
        await using var host = await StartAsync(null, "client_idle_timeout = 60");
        await using var client = await host.LoginOkAsync();
        await OkAsync(client, "SELECT 1");

        await host.AdvanceAsync(S(40));
        await AssertSilentAsync(client, "40 s idle of 60 s");
        await OkAsync(client, "SELECT 1");   // activity: the idle time starts again

        await host.AdvanceAsync(S(40));
        await AssertSilentAsync(client, "40 s since the last query");
        await host.AdvanceAsync(S(19));
        await AssertSilentAsync(client, "59 s since the last query");

        await host.AdvanceAsync(S(2));
        await AssertFatalThenClosedAsync(client, "client_idle_timeout");
        Assert.Equal(1, host.Fake.StartupCount);
        Assert.False(host.Fake.Connections.Single().ScriptDone.IsCompleted, "the server is not the client's to close");
    }

    [Fact]
    public async Task ClientIdleTimeout_ClientThatNeverSentAQuery_CountsFromItsLogin()
    {
        await using var host = await StartAsync(null, "client_idle_timeout = 60");
        await using var client = await host.LoginOkAsync();

        await host.AdvanceAsync(Seconds1);
        await AssertSilentAsync(client, "1 s after login, never sent a query");
        await host.AdvanceAsync(S(58));
        await AssertSilentAsync(client, "59 s after login");

        await host.AdvanceAsync(S(2));
        await AssertFatalThenClosedAsync(client, "client_idle_timeout");
    }

    [Fact]
    public async Task ClientIdleTimeout_DoesNotApplyToAClientInATransaction()
    {
        await using var host = await StartAsync(null, "client_idle_timeout = 60");
        await using var client = await host.LoginOkAsync();
        await OkAsync(client, "BEGIN");

        await host.AdvanceAsync(S(600));
        await AssertSilentAsync(client, "a client holding a server is not idle in PgBouncer's sense");
        await OkAsync(client, "COMMIT");
    }

    // ------------------------------------------------------------------ idle_transaction_timeout

    [Fact]
    public async Task IdleTransactionTimeout_ClientIdleInTransaction_GetsFatal_AndServerIsClosed()
    {
        await using var host = await StartAsync(null, "idle_transaction_timeout = 30");
        await using var client = await host.LoginOkAsync();
        await OkAsync(client, "BEGIN");
        var server = host.Fake.Connections.Single();

        await host.AdvanceAsync(S(20));
        Assert.Equal('T', Status(await OkAsync(client, "SELECT 1")));   // activity inside the transaction resets it
        await host.AdvanceAsync(S(29));
        await AssertSilentAsync(client, "29 s idle in transaction of 30 s");
        Assert.False(server.ScriptDone.IsCompleted);

        await host.AdvanceAsync(S(2));
        await AssertFatalThenClosedAsync(client, "idle transaction timeout");
        Assert.True(await ServerClosedAsync(server, TimeSpan.FromSeconds(5)), "the server holding the transaction was kept");

        await using var next = await host.LoginOkAsync();
        await OkAsync(next, "SELECT 1");
        Assert.Equal(2, host.Fake.StartupCount);
    }

    [Fact]
    public async Task IdleTransactionTimeout_IdleClientOutsideATransaction_IsLeftAlone()
    {
        await using var host = await StartAsync(null, "idle_transaction_timeout = 30", "pool_mode = session");
        await using var client = await host.LoginOkAsync();
        Assert.Equal('I', Status(await OkAsync(client, "SELECT 1")));

        await host.AdvanceAsync(S(300));
        await AssertSilentAsync(client, "not in a transaction");
        await OkAsync(client, "SELECT 1");
        Assert.Equal(1, host.Fake.StartupCount);
    }

    // ------------------------------------------------------------------ query_timeout

    [Fact]
    public async Task QueryTimeout_LongQuery_GetsFatalQueryTimeout_AndServerIsClosed()
    {
        await using var host = await StartAsync(null, "query_timeout = 10");
        await using var client = await host.LoginOkAsync();
        var server = host.Fake.Connections.Single();
        await client.SendQueryAsync("SELECT hang");
        await EventuallyAsync(() => server.Queries.Contains("SELECT hang"), "the query reaches the server");

        await host.AdvanceAsync(S(9));
        await AssertSilentAsync(client, "9 s of 10 s query_timeout");
        Assert.False(server.ScriptDone.IsCompleted);

        await host.AdvanceAsync(S(2));
        await AssertFatalThenClosedAsync(client, "query timeout");
        Assert.True(await ServerClosedAsync(server, TimeSpan.FromSeconds(5)), "the server running the query was kept");
    }

    [Fact]
    public async Task QueryTimeout_DoesNotApplyToAnIdleTransaction()
    {
        await using var host = await StartAsync(null, "query_timeout = 10");
        await using var client = await host.LoginOkAsync();
        await OkAsync(client, "BEGIN");

        await host.AdvanceAsync(S(60));
        await AssertSilentAsync(client, "no query in flight (PgBouncer 1.26 semantics)");
        await OkAsync(client, "COMMIT");
    }

    // ------------------------------------------------------------------ transaction_timeout

    [Fact]
    public async Task TransactionTimeout_BusyTransaction_IsEndedAfterTheTimeout()
    {
        await using var host = await StartAsync(null, "transaction_timeout = 20");
        await using var client = await host.LoginOkAsync();
        await OkAsync(client, "BEGIN");
        var server = host.Fake.Connections.Single();

        // Queries keep coming, so neither idle_transaction_timeout nor client_idle_timeout would fire.
        await host.AdvanceAsync(S(8));
        await OkAsync(client, "SELECT 1");
        await host.AdvanceAsync(S(8));
        await OkAsync(client, "SELECT 1");
        await host.AdvanceAsync(S(3));
        await AssertSilentAsync(client, "19 s into a 20 s transaction_timeout");

        await host.AdvanceAsync(S(2));
        await AssertFatalThenClosedAsync(client, "transaction timeout");
        Assert.True(await ServerClosedAsync(server, TimeSpan.FromSeconds(5)), "the server holding the transaction was kept");
    }

    [Fact]
    public async Task TransactionTimeout_ManyShortTransactions_AreNotLimited()
    {
        await using var host = await StartAsync(null, "transaction_timeout = 20", "pool_mode = session");
        await using var client = await host.LoginOkAsync();
        for (var i = 0; i < 6; i++)
        {
            await OkAsync(client, "BEGIN");
            await OkAsync(client, "COMMIT");
            await host.AdvanceAsync(S(8));
        }
        await AssertSilentAsync(client, "each transaction was short");
        await OkAsync(client, "SELECT 1");
    }

    // ------------------------------------------------------------------ server_login_retry

    [Fact]
    public async Task ServerLoginRetry_AfterAFailedLogin_NewClientsFailFast_UntilTheRetryPeriodPassed()
    {
        const string refusal = "password authentication failed for user \"app\"";
        var logins = 0;
        await using var host = await StartAsync(
            async c =>
            {
                var n = Interlocked.Increment(ref logins);
                if (n == 1)
                {
                    await c.SendErrorAsync("FATAL", "28P01", refusal);
                    c.Close();
                    return;
                }
                await c.CompleteLoginAsync(n, n);
                await c.ServeQueriesAsync();
            },
            "server_login_retry = 15");

        await using var first = await host.LoginAsync();
        Assert.False(first.Login!.Ok);
        Assert.Equal(refusal, first.Login.Error!['M']);
        Assert.Equal("28P01", first.Login.Error['C']);

        var cached = $"server login has been failing, cached error: {refusal} (server_login_retry)";
        await using (var second = await host.LoginAsync())
        {
            Assert.False(second.Login!.Ok);
            Assert.Equal(cached, second.Login.Error!['M']);
            Assert.Equal("FATAL", second.Login.Error['S']);
        }
        await host.AdvanceAsync(S(14));
        await using (var third = await host.LoginAsync())
        {
            Assert.False(third.Login!.Ok);
            Assert.Equal(cached, third.Login.Error!['M']);
        }
        Assert.Equal(1, host.Fake.StartupCount);

        await host.AdvanceAsync(S(2));
        await using var fourth = await host.LoginOkAsync();
        await OkAsync(fourth, "SELECT 1");
        Assert.Equal(2, host.Fake.StartupCount);
    }

    // ------------------------------------------------------------------ client_login_timeout

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClientLoginTimeout_ClientThatNeverSendsItsStartupPacket_IsDisconnected(bool partialStartup)
    {
        await using var host = await StartAsync(null, "client_login_timeout = 10");
        using var socket = new Socket(host.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(host.EndPoint);
        // An SSLRequest answered 'N' proves the login is running (and its timeout armed) before the clock moves.
        await socket.SendAsync(PgWire.Untyped(PgWire.Body(PgWire.SslRequestCode)));
        var answer = new byte[1];
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            Assert.Equal(1, await socket.ReceiveAsync(answer, cts.Token));
        }
        Assert.Equal((byte)'N', answer[0]);
        if (partialStartup)
        {
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, 40);
            await socket.SendAsync(length);   // the length of a startup packet whose body never comes
        }

        await host.AdvanceAsync(S(9));
        var before = await DrainAsync(socket, Quiet);
        Assert.False(before.Closed, "disconnected before client_login_timeout");
        Assert.Empty(before.Data);

        await host.AdvanceAsync(S(2));
        var after = await DrainAsync(socket, TimeSpan.FromSeconds(5));
        Assert.True(after.Closed, "still connected after client_login_timeout");
        if (after.Data.Length > 0)
        {
            // PgBouncer may tell the client why; if Sluice does, the text must name the timeout.
            Assert.Equal((byte)'E', after.Data[0]);
            Assert.Contains("client_login_timeout", System.Text.Encoding.UTF8.GetString(after.Data));
        }
    }

    /// <summary>What the peer sent within <paramref name="timeout"/>, and whether it closed the connection.</summary>
    private static async Task<(byte[] Data, bool Closed)> DrainAsync(Socket socket, TimeSpan timeout)
    {
        var data = new List<byte>();
        var buffer = new byte[1024];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    return ([.. data], true);
                }
                data.AddRange(buffer.AsSpan(0, n));
            }
        }
        catch (OperationCanceledException)
        {
            return ([.. data], false);
        }
        catch (SocketException)
        {
            return ([.. data], true);
        }
    }
}
