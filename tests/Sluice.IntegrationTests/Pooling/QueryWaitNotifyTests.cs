using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>query_wait_notify: a client queued longer than the setting gets one NOTICE per wait.</summary>
[Collection(PostgresCollection.Name)]
public sealed class QueryWaitNotifyTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Expected = "No server connection available in postgres backend, client being queued";

    [Fact]
    public async Task QueuedClient_GetsOneNoticePerWait()
    {
        await using var host = await TestPooler.StartAsync(fixture.Postgres, output,
            ini => ini.Setting("pool_mode", "statement").Setting("default_pool_size", 1).Setting("query_wait_notify", 1));
        await using var busy = await host.OpenAsync();
        await using var waiter = await host.OpenAsync();
        var notices = new List<string>();
        waiter.Notice += (_, e) => { lock (notices) { notices.Add(e.Notice.MessageText); } };

        for (var round = 1; round <= 2; round++)
        {
            var sleeping = busy.ExecAsync("SELECT pg_sleep(3)");
            await Task.Delay(300);
            Assert.Equal(1, await waiter.ScalarAsync<int>("SELECT 1"));
            await sleeping;
            lock (notices)
            {
                Assert.Equal(round, notices.Count);
                Assert.All(notices, n => Assert.Equal(Expected, n));
            }
        }

        // Not queued: no notice.
        Assert.Equal(1, await waiter.ScalarAsync<int>("SELECT 1"));
        lock (notices)
        {
            Assert.Equal(2, notices.Count);
        }
    }
}
