using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;
using static Sluice.Testing.Wire.PgWire;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>
/// COPY FROM STDIN through the extended protocol with a Sync sent before the data (libpq's pipeline mode does
/// this): PostgreSQL drops Syncs it reads during the copy, so only one ReadyForQuery comes, and the server must
/// come back clean instead of being closed as "client disconnected with query in progress".
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ExtendedCopyInTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SyncBeforeCopyData_LeavesTheServerClean(bool badRow)
    {
        await using var host = await TestPooler.StartAsync(fixture.Postgres, output, ini => ini.Setting("pool_mode", "session"));
        var table = "copy_ext_" + Guid.NewGuid().ToString("N")[..8];
        await using (var setup = await host.LoginOkAsync())
        {
            Assert.Null((await setup.QueryAsync($"CREATE TABLE {table}(i int)")).Error);
        }

        await using (var c = await host.LoginOkAsync())
        {
            await c.SendAsync(Parse("", $"COPY {table}(i) FROM STDIN"), Bind("", ""), Execute(), Sync());
            var start = await c.ReadCountAsync(3, TimeSpan.FromSeconds(10));   // ParseComplete, BindComplete, CopyInResponse
            Assert.Equal("12G", Types(start));
            await c.SendAsync(Message('d', System.Text.Encoding.ASCII.GetBytes(badRow ? "x\n" : "1\n")), Message('c', []), Sync());
            var rest = await c.ReadRepliesAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(badRow ? "EZ" : "CZ", Types(rest));
        }

        // The session ended cleanly: the server went back to the pool instead of being closed mid-query.
        await Task.Delay(200);
        Assert.DoesNotContain(host.LogLines, l => l.Contains("query in progress", StringComparison.Ordinal));
        await using var check = await host.LoginOkAsync();
        Assert.Equal(badRow ? "0" : "1", (await check.QueryAsync($"SELECT count(*) FROM {table}")).FirstValue);
        Assert.Null((await check.QueryAsync($"DROP TABLE {table}")).Error);
    }
}
