using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Hostile;

/// <summary>
/// An authenticated client abusing protocol-level prepared statements in transaction pooling
/// (max_prepared_statements &gt; 0): the pooler's memory must stay bounded by what live clients and servers hold.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PreparedStatementAbuseTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    /// <summary>
    /// Parse a distinct 400 KB statement under the same name, Close it, repeat 120 times (~48 MB of distinct text),
    /// then disconnect. The client holds at most one name at a time and each server keeps only its LRU of
    /// max_prepared_statements, so once the client is gone almost nothing should remain: PgBouncer frees a
    /// statement when no client or server refers to it. Retaining every distinct text ever seen lets any
    /// authenticated client grow the pooler's memory without bound.
    /// </summary>
    [Fact]
    public Task DistinctParseCloseLoop_DoesNotRetainEveryStatementForever() => ParseCloseLoopAsync(distinct: true);

    /// <summary>Control for the threshold: the same loop with one and the same text every round retains little.</summary>
    [Fact]
    public Task SameTextParseCloseLoop_RetainsLittle() => ParseCloseLoopAsync(distinct: false);

    private async Task ParseCloseLoopAsync(bool distinct)
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("max_prepared_statements", 5));
        await using var bystander = await Bystander.OpenAsync(host);
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var registryBefore = host.Pooler.Statements.Count;

        const int rounds = 120;
        var padding = new string('x', 400 * 1024);
        await using (var c = await host.LoginOkAsync())
        {
            for (var i = 0; i < rounds; i++)
            {
                var sql = $"SELECT {(distinct ? i : 0)} /* {padding} */";
                await c.SendAsync([
                    .. PgWire.Message('P', [.. PgWire.CString("s"), .. PgWire.CString(sql), 0, 0]),
                    .. PgWire.Message('C', [(byte)'S', .. PgWire.CString("s")]),
                    .. PgWire.Message('S', []),
                ]);
                var reply = new List<char>();
                while (await c.ReadAsync(TimeSpan.FromSeconds(10)) is { } m)
                {
                    reply.Add(m.Type);
                    Assert.True(m.Type != 'E', $"round {i}: {m}");
                    if (m.Type == 'Z')
                    {
                        break;
                    }
                }
                Assert.Equal(['1', '3', 'Z'], reply);
            }
        }
        await HostileAssert.WaitForAsync(() => host.Pooler.ClientCount <= 1, TimeSpan.FromSeconds(5), "the client to be gone");

        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        var retainedMb = (heapAfter - heapBefore) / (1024.0 * 1024.0);
        var registryAfter = host.Pooler.Statements.Count;
        output.WriteLine($"managed heap retained after the client left: {retainedMb:F1} MB; statement registry {registryBefore} -> {registryAfter} entries");
        Assert.True(retainedMb < 20,
            $"{retainedMb:F1} MB of the ~{rounds * padding.Length / (1024 * 1024)} MB of statement text is still held after the client left " +
            $"(statement registry: {registryAfter} entries for a client that never held more than 1)");

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Many distinct names for the same text by one client, then Close of each: works and stays small.</summary>
    [Fact]
    public async Task ManyNamesForOneStatement_AreTracked_AndClosed()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("max_prepared_statements", 5));
        await using var bystander = await Bystander.OpenAsync(host);
        await using var c = await host.LoginOkAsync();

        var batch = new List<byte>();
        for (var i = 0; i < 2000; i++)
        {
            batch.AddRange(PgWire.Message('P', [.. PgWire.CString($"n{i}"), .. PgWire.CString("SELECT 1"), 0, 0]));
        }
        batch.AddRange(PgWire.Message('S', []));
        await c.SendAsync(batch.ToArray());
        var parseCompletes = 0;
        while (await c.ReadAsync(TimeSpan.FromSeconds(10)) is { } m && m.Type != 'Z')
        {
            Assert.True(m.Type == '1', m.ToString());
            parseCompletes++;
        }
        Assert.Equal(2000, parseCompletes);

        // A duplicate name is refused by the pooler (PgBouncer: 'prepared statement "n0" already exists' from the
        // server, or the pooler's own error); either way an error, not a crash.
        await c.SendAsync([.. PgWire.Message('P', [.. PgWire.CString("n0"), .. PgWire.CString("SELECT 2"), 0, 0]), .. PgWire.Message('S', [])]);
        var o = await c.ReadUntilClosedAsync(TimeSpan.FromSeconds(3));
        output.WriteLine(o.ToString());
        Assert.NotNull(o.Error);
        HostileAssert.NoUnexpectedErrors(host);

        await bystander.AssertUnaffectedAsync();
    }
}
