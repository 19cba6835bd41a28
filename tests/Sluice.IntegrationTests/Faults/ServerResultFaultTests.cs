using System.Diagnostics;
using Sluice.Testing.FakePostgres;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Faults;

/// <summary>Faults in the middle of a result, while a client is linked.</summary>
public sealed class ServerResultFaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ServerClosesMidResult_ClientGetsErrorPromptly_AndNextClientGetsFreshServer(bool reset)
    {
        var logins = 0;
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                var n = Interlocked.Increment(ref logins);
                await c.CompleteLoginAsync(1000 + n, 2000 + n);
                if (n == 1)
                {
                    await c.ExpectQueryAsync();
                    await c.SendRawAsync([.. PgWire.RowDescription("x"), .. PgWire.DataRow("first row")]);
                    await Task.Delay(200);   // let the partial result reach the client before the crash
                    if (reset)
                    {
                        c.CloseAbruptly();
                    }
                    else
                    {
                        c.Close();
                    }
                    return;
                }
                await c.ServeQueriesAsync();
            },
            output);

        await using (var first = await host.LoginOkAsync())
        {
            var clock = Stopwatch.StartNew();
            var reply = await first.QueryAsync("SELECT x FROM t", Prompt + TimeSpan.FromSeconds(1));
            clock.Stop();

            output.WriteLine(string.Join(" | ", reply));
            Assert.True(clock.Elapsed < Prompt, $"client waited {clock.Elapsed}");
            Assert.Equal(['T', 'D', 'E'], reply.Select(m => m.Type));
            Assert.Equal("first row", System.Text.Encoding.UTF8.GetString(PgWire.ParseDataRow(reply[1].Body)[0]!));
            Assert.Equal("FATAL", reply[2].Fields['S']);
            Assert.True(await first.WaitForCloseAsync(Prompt), "the client connection should be closed after the FATAL");
        }

        await using var second = await host.LoginOkAsync();
        var ok = await second.QueryAsync("SELECT 1");
        Assert.Equal(['T', 'D', 'C', 'Z'], ok.Select(m => m.Type));
        Assert.Equal(2, host.Fake.StartupCount);
    }

    [Fact]
    public async Task ServerSendsInvalidLength_ServerClosed_ClientGetsError()
    {
        var closedBySluice = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var logins = 0;
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                var n = Interlocked.Increment(ref logins);
                await c.CompleteLoginAsync(1000 + n, 2000 + n);
                if (n == 1)
                {
                    await c.ExpectQueryAsync();
                    await c.SendRawAsync([.. PgWire.RowDescription("x"), (byte)'D', 0, 0, 0, 2, 0, 1]);
                    closedBySluice.TrySetResult(await c.WaitForCloseAsync(TimeSpan.FromSeconds(20)));
                    return;
                }
                await c.ServeQueriesAsync();
            },
            output);

        await using (var client = await host.LoginOkAsync())
        {
            var clock = Stopwatch.StartNew();
            var reply = await client.QueryAsync("SELECT x FROM t", Prompt + TimeSpan.FromSeconds(1));

            output.WriteLine(string.Join(" | ", reply));
            Assert.True(clock.Elapsed < Prompt, $"client waited {clock.Elapsed}");
            Assert.Equal('E', reply[^1].Type);
            Assert.Equal("FATAL", reply[^1].Fields['S']);
            Assert.DoesNotContain(reply, m => m.Type == 'Z');
        }
        Assert.True(await closedBySluice.Task.WaitAsync(TimeSpan.FromSeconds(10)), "Sluice should close a server that sent an invalid length");

        // The broken server is gone from the pool: the next client is served by a new one.
        await using var next = await host.LoginOkAsync();
        Assert.Equal('Z', (await next.QueryAsync("SELECT 1"))[^1].Type);
        Assert.Equal(2, host.Fake.StartupCount);
    }

    [Fact]
    public async Task HugeDataRow_SplitIntoManyWrites_IsForwardedIntact()
    {
        var payload = new byte[4 * 1024 * 1024];
        new Random(20261126).NextBytes(payload);
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                await c.CompleteLoginAsync(1, 1);
                await c.ExpectQueryAsync();
                byte[] reply =
                [
                    .. PgWire.RowDescription("blob"),
                    .. PgWire.DataRowRaw(payload),
                    .. PgWire.CommandComplete("SELECT 1"),
                    .. PgWire.ReadyForQuery('I'),
                ];
                // Uneven writes: runs of tiny ones (headers split byte by byte) among large ones.
                var random = new Random(7);
                var chunks = 0;
                for (var pos = 0; pos < reply.Length; chunks++)
                {
                    var size = chunks % 8 == 0 ? random.Next(1, 6) : random.Next(1, 120_000);
                    size = Math.Min(size, reply.Length - pos);
                    await c.SendRawAsync(reply.AsMemory(pos, size));
                    pos += size;
                    if (chunks % 16 == 0)
                    {
                        await Task.Delay(1);
                    }
                }
                await c.ServeQueriesAsync();
            },
            output);

        await using var client = await host.LoginOkAsync();
        var messages = await client.QueryAsync("SELECT blob", TimeSpan.FromSeconds(30));

        Assert.Equal(['T', 'D', 'C', 'Z'], messages.Select(m => m.Type));
        var value = PgWire.ParseDataRow(messages[1].Body)[0];
        Assert.NotNull(value);
        Assert.Equal(payload.Length, value.Length);
        Assert.True(payload.AsSpan().SequenceEqual(value), "the 4 MB value was altered in transit");
        Assert.Equal("SELECT 1", messages[2].Text);

        // The connection is still in sync afterwards.
        Assert.Equal(['T', 'D', 'C', 'Z'], (await client.QueryAsync("SELECT 1")).Select(m => m.Type));
    }
}
