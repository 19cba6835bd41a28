using Sluice.Testing.FakePostgres;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Faults;

/// <summary>ParameterStatus from the server while a client is linked feeds PgBouncer's varcache.</summary>
public sealed class ParameterStatusFaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task UnpromptedTimeZoneChange_ReachesClient_AndIsSetForTheNextClient()
    {
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                await c.CompleteLoginAsync(1, 1);
                var respond = FakeResponders.Transactional(sql => sql);
                await c.ServeQueriesAsync(async (conn, sql) =>
                {
                    if (sql == "SELECT 'async'")
                    {
                        // A ParameterStatus in the middle of a result, as after a function that SETs TimeZone.
                        await conn.SendRawAsync(
                        [
                            .. PgWire.RowDescription("x"),
                            .. PgWire.ParameterStatus("TimeZone", "Asia/Tokyo"),
                            .. PgWire.DataRow("async"),
                            .. PgWire.CommandComplete("SELECT 1"),
                            .. PgWire.ReadyForQuery('I'),
                        ]);
                        return;
                    }
                    await respond(conn, sql);
                });
            },
            output,
            "pool_mode = transaction",
            "default_pool_size = 1");

        await using var a = await host.LoginOkAsync();
        Assert.Equal("UTC", a.Login!.Parameters["TimeZone"]);
        await using var b = await host.LoginOkAsync(parameters: [("TimeZone", "America/New_York")]);
        Assert.Equal("America/New_York", b.Login!.Parameters["TimeZone"]);

        var aReply = await a.QueryAsync("SELECT 'async'");
        Assert.Equal(['T', 'S', 'D', 'C', 'Z'], aReply.Select(m => m.Type));
        Assert.Equal(("TimeZone", "Asia/Tokyo"), aReply[1].ParameterStatus());

        // B gets the same (only) server, which now runs Asia/Tokyo: Sluice sets B's own value first.
        var bReply = await b.QueryAsync("SELECT 'b'");
        Assert.Equal(['T', 'D', 'C', 'Z'], bReply.Select(m => m.Type));   // the SET's replies are swallowed

        var server = host.Fake.Connections.Single();
        var queries = server.Queries.ToList();
        output.WriteLine(string.Join("\n", queries));
        var bIndex = queries.IndexOf("SELECT 'b'");
        Assert.True(bIndex > 0, "B's query never reached the server");
        Assert.Matches("(?i)^SET TimeZone\\s*(=|TO)\\s*'America/New_York';?$", queries[bIndex - 1]);

        // And A, whose TimeZone the server reported as Asia/Tokyo, gets that back on its next transaction.
        var aAgain = await a.QueryAsync("SELECT 'a'");
        Assert.Equal(['T', 'D', 'C', 'Z'], aAgain.Select(m => m.Type));
        queries = [.. server.Queries];
        var aIndex = queries.IndexOf("SELECT 'a'");
        Assert.Matches("(?i)^SET TimeZone\\s*(=|TO)\\s*'Asia/Tokyo';?$", queries[aIndex - 1]);
    }

    [Fact]
    public async Task ClientSet_TrackedParameter_IsRememberedPerClient()
    {
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                await c.CompleteLoginAsync(1, 1);
                await c.ServeQueriesAsync(FakeResponders.Transactional(sql => sql));
            },
            output,
            "pool_mode = transaction",
            "default_pool_size = 1");
        await using var a = await host.LoginOkAsync();
        await using var b = await host.LoginOkAsync();

        var set = await a.QueryAsync("SET TimeZone = 'Europe/Paris'");
        Assert.Contains(set, m => m.Type == 'S' && m.ParameterStatus() == ("TimeZone", "Europe/Paris"));

        // B never set TimeZone: it keeps the pool's value (UTC) and must not inherit A's.
        await b.QueryAsync("SELECT 'b'");
        var queries = host.Fake.Connections.Single().Queries.ToList();
        var bIndex = queries.IndexOf("SELECT 'b'");
        Assert.Matches("(?i)^SET TimeZone\\s*(=|TO)\\s*'UTC';?$", queries[bIndex - 1]);

        // No SET when the server already has the client's value.
        await b.QueryAsync("SELECT 'b2'");
        queries = [.. host.Fake.Connections.Single().Queries];
        Assert.Equal("SELECT 'b'", queries[queries.IndexOf("SELECT 'b2'") - 1]);
    }
}
