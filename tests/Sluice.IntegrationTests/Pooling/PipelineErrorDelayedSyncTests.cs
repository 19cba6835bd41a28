using System.Diagnostics;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;
using static Sluice.Testing.Wire.PgWire;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>
/// A pipelined client whose first query fails before it has sent its Sync (PgBouncer's
/// test_prepared_statement_pipeline_error_delayed_sync): the error must reach the client at once, not wait for the
/// Sync; the messages the client sends after it are dropped by PostgreSQL until that Sync, which answers with a
/// lone ReadyForQuery; and a named statement, already prepared on the server by an earlier client, then works.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PipelineErrorDelayedSyncTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    [Theory]
    [InlineData(10)]    // prepared statements tracked (rewritten, replies matched)
    [InlineData(0)]     // plain forwarding
    public async Task ErrorBeforeTheSync_ReachesTheClientAtOnce_AndTheSyncEndsThePipeline(int maxPreparedStatements)
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("pool_mode", "transaction").Setting("default_pool_size", 1)
            .Setting("max_prepared_statements", maxPreparedStatements));

        // An earlier client prepares the statement on the only server, then leaves.
        await using (var first = await host.LoginOkAsync())
        {
            await first.SendAsync(Parse("p1", "SELECT 1"), Bind("", "p1"), Describe('P', ""), Execute(), Sync());
            var replies = await first.ReadRepliesAsync();
            Assert.True(Types(replies) == "12TDCZ", Show(replies));
        }

        await using var w = await host.LoginOkAsync();
        await w.SendAsync(Parse("", "SELECT aaaa"), Bind("", ""), Describe('P', ""), Execute());

        // No Sync and no Flush yet: PostgreSQL flushes its error by itself, and Sluice must pass it on as it comes.
        var clock = Stopwatch.StartNew();
        var error = await w.ReadCountAsync(1, TimeSpan.FromSeconds(5));
        output.WriteLine($"error reached the client after {clock.ElapsedMilliseconds} ms");
        Assert.Equal('E', error[0].Type);
        Assert.Equal("42703", error[0].SqlState);

        // Pipelined on after the error, before the Sync: PostgreSQL skips these, so the Sync gets only ReadyForQuery.
        await w.SendAsync(Parse("", "SELECT 123"), Bind("", ""), Describe('P', ""), Execute());
        await w.SendAsync(Sync());
        var afterSync = await w.ReadRepliesAsync(TimeSpan.FromSeconds(10));
        Assert.True(Types(afterSync) == "Z", Show(afterSync));

        // The named statement is usable in the next transaction: tracked, the client prepares it under its own
        // name (Sluice answers the Parse, the server has it); untracked, the server still has the earlier client's.
        var tracked = maxPreparedStatements > 0;
        await w.SendAsync(tracked
            ? [Parse("p1", "SELECT 1"), Bind("", "p1"), Describe('P', ""), Execute(), Sync()]
            : [Bind("", "p1"), Describe('P', ""), Execute(), Sync()]);
        var again = await w.ReadRepliesAsync(TimeSpan.FromSeconds(10));
        Assert.True(Types(again) == (tracked ? "12TDCZ" : "2TDCZ"), Show(again));
        Assert.Equal("1", again[^3].Values[0]);

        // And the server is clean afterwards: a plain query answers normally.
        await w.SendAsync(Query("SELECT 42"));
        var plain = await w.ReadRepliesAsync(TimeSpan.FromSeconds(10));
        Assert.True(Types(plain) == "TDCZ", Show(plain));
        Assert.Equal("42", plain[1].Values[0]);
    }
}
