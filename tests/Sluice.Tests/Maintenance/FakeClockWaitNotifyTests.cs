using static Sluice.Tests.Maintenance.FakeClock;

namespace Sluice.Tests.Maintenance;

/// <summary>query_wait_notify on a fake clock: one NOTICE once a client has been queued longer than the setting.</summary>
public sealed class FakeClockWaitNotifyTests
{
    private const string QueuedNotice = "No server connection available in postgres backend, client being queued";

    [Fact]
    public async Task QueuedClient_GetsOneNotice_OnlyPastTheSetting()
    {
        await using var host = await StartAsync(null, "default_pool_size = 1", "query_wait_notify = 5");
        await using var holder = await host.LoginOkAsync();
        var begin = await holder.QueryAsync("BEGIN");
        Assert.Equal('T', begin[^1].TransactionStatus);
        await using var waiter = await host.LoginOkAsync();
        await waiter.SendQueryAsync("SELECT 1");
        await EventuallyAsync(() => host.Pool.WaitingCount == 1, "the second client queues");

        await host.AdvanceAsync(TimeSpan.FromSeconds(4));
        await AssertSilentAsync(waiter, "4 s of 5 s query_wait_notify");

        await host.AdvanceAsync(TimeSpan.FromSeconds(2));
        var notice = await waiter.ReadAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(notice);
        Assert.Equal('N', notice.Type);
        Assert.Equal(QueuedNotice, notice.Fields['M']);

        // Once per wait: more time in the same wait sends nothing more.
        await host.AdvanceAsync(TimeSpan.FromSeconds(10));
        await AssertSilentAsync(waiter, "already told during this wait");
        Assert.Equal(1, host.Pool.WaitingCount);
    }
}
