using Sluice.Testing.FakePostgres;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Faults;

/// <summary>
/// Which server login failures end the wait of the clients queued for the pool (PgBouncer's rule): a refusal does,
/// even while a server condemned by RECONNECT is still held by its client; a server that is merely unreachable
/// does not.
/// </summary>
public sealed class RefusedServerLoginTests(ITestOutputHelper output)
{
    private const string Refusal = "password authentication failed for user \"app\"";

    [Fact]
    public async Task RefusedLogin_FailsTheWaiters_WhenTheOnlyServerLeftIsCondemnedByReconnect()
    {
        var connections = 0;
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                if (Interlocked.Increment(ref connections) == 1)
                {
                    await c.CompleteLoginAsync(1, 1);
                    await c.ServeQueriesAsync();
                    return;
                }
                await c.SendErrorAsync("FATAL", "28P01", Refusal);
                c.Close();
            },
            output,
            "pool_mode = session", "default_pool_size = 2", "server_login_retry = 30");

        // A holds the only server (session pooling); RECONNECT condemns it, it stays in use until A leaves.
        await using var a = await host.LoginOkAsync();
        Assert.Contains(await a.QueryAsync("SELECT 1"), m => m.Type == 'Z');
        host.Pooler.Reconnect();

        // B needs a second server; PostgreSQL refuses it. A's condemned server would never be B's: B is told now.
        await using var b = await host.LoginOkAsync();
        var answer = await b.QueryAsync("SELECT 1", TimeSpan.FromSeconds(10));
        var error = Assert.Single(answer, m => m.Type == 'E').Fields;
        Assert.Equal("28P01", error['C']);
        Assert.Equal(Refusal, error['M']);
        Assert.True(await b.WaitForCloseAsync(TimeSpan.FromSeconds(5)));

        // PgBouncer's log lines: the refusal, the server slot and the client closing with the server's text.
        Assert.True(LogContains(host, "server login failed: FATAL " + Refusal), host.LogTail());
        Assert.True(LogContains(host, "closing because: " + Refusal), host.LogTail());
        Assert.Equal(2, Volatile.Read(ref connections));
    }

    [Fact]
    public async Task ServerStartingUp57P03_DoesNotFailTheWaiters()
    {
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                await c.SendErrorAsync("FATAL", "57P03", "the database system is starting up");
                c.Close();
            },
            output,
            "query_wait_timeout = 2");

        // The next attempt may well succeed: the client is not given the transient error, only its own timeout.
        await using var client = await host.LoginAsync();
        Assert.False(client.Login!.Ok);
        Assert.Equal("query_wait_timeout", client.Login.Error!['M']);
        Assert.True(LogContains(host, "server login failed: FATAL the database system is starting up"), host.LogTail());
    }

    private static bool LogContains(TestPooler host, string text) => host.LogTail(500).Contains(text, StringComparison.Ordinal);
}
