using System.Diagnostics;
using System.Security.Cryptography;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Hostile;

/// <summary>
/// Protocol violations after login. Out-of-order extended-protocol messages are PostgreSQL's business (it answers
/// with an error and the session goes on); unknown message types end the session at PostgreSQL; a CancelRequest
/// with a random key is dropped. In every case the pooler survives and nobody else notices.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ProtocolViolationTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    private static byte[] Sync => PgWire.Message('S', []);

    /// <summary>Reads up to and including a ReadyForQuery; fails if the connection closes first or nothing comes.</summary>
    private static async Task<List<PgMessage>> ReadToReadyAsync(RawPgClient c, TimeSpan? timeout = null)
    {
        var messages = new List<PgMessage>();
        while (true)
        {
            var m = await c.ReadAsync(timeout) ?? throw new InvalidOperationException("closed before ReadyForQuery: " + string.Join("; ", messages));
            messages.Add(m);
            if (m.Type == 'Z')
            {
                return messages;
            }
        }
    }

    private static async Task AssertSessionWorksAsync(RawPgClient c)
    {
        await c.SendAsync(PgWire.Query("SELECT 1"));
        var reply = await ReadToReadyAsync(c);
        Assert.Contains(reply, m => m.Type == 'D');
        Assert.DoesNotContain(reply, m => m.Type == 'E');
        Assert.Equal((byte)'I', reply[^1].Body[0]);
    }

    /// <summary>A message type byte no frontend message has: forwarded, PostgreSQL ends the session with FATAL 08P01.</summary>
    [Theory]
    [InlineData('!', false)]
    [InlineData('z', false)]
    [InlineData('\u00ff', false)]
    [InlineData('!', true)]
    public async Task UnknownMessageType_ClientGetsError_PoolerSurvives(char type, bool inTransaction)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);
        await using var c = await host.LoginOkAsync();
        if (inTransaction)
        {
            await c.SendAsync(PgWire.Query("BEGIN"));
            await ReadToReadyAsync(c);
        }

        await c.SendAsync(PgWire.Message(type, [1, 2, 3]));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        Assert.True(o.Closed, o.ToString());
        var error = o.Error;
        Assert.NotNull(error);
        Assert.Equal("FATAL", error.Fields['S']);
        Assert.Equal("08P01", error.Fields['C']);

        // The broken server connection is not handed to anyone else.
        await host.AssertNextClientNotInTransactionAsync();
        await bystander.AssertUnaffectedAsync();
        HostileAssert.NoUnexpectedErrors(host);
    }

    /// <summary>A StartupMessage or SSLRequest sent after login reads as message type 0: the session ends, promptly.</summary>
    [Theory]
    [InlineData("startup")]
    [InlineData("sslrequest")]
    [InlineData("cancel")]
    public async Task UntypedPacketAfterLogin_EndsSession_Promptly(string kind)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);
        await using var c = await host.LoginOkAsync();

        byte[] packet = kind switch
        {
            "startup" => PgWire.Startup(("user", "postgres"), ("database", "postgres")),
            "sslrequest" => [.. PgWire.Int32(8), .. PgWire.Int32(PgWire.SslRequestCode)],
            "cancel" => [.. PgWire.Int32(16), .. PgWire.Int32(PgWire.CancelRequestCode), .. PgWire.Int32(1), .. PgWire.Int32(2)],
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        await c.SendAsync(packet);
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        Assert.True(o.Closed, "session not ended: " + o);
        Assert.NotNull(o.Error);
        Assert.Equal("08P01", o.Error.Fields['C']);
        Assert.DoesNotContain(o.Messages, m => m.Type == 'R');

        await host.AssertNextClientNotInTransactionAsync();
        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Extended-protocol messages out of order: PostgreSQL's errors come back, and the session continues.</summary>
    [Theory]
    [InlineData("bind-unnamed-without-parse", "26000")]
    [InlineData("execute-unknown-portal", "34000")]
    [InlineData("describe-unknown-portal", "34000")]
    [InlineData("describe-unnamed-statement-without-parse", "26000")]
    [InlineData("bind-wrong-parameter-count", "08P01")]
    [InlineData("query-without-terminator", "08P01")]
    public async Task OutOfOrderExtendedProtocol_ServerErrorAndSessionGoesOn(string shape, string sqlState)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);
        await using var c = await host.LoginOkAsync();

        byte[] messages = shape switch
        {
            // Bind: portal "", statement "", 0 format codes, 0 parameters, 0 result formats.
            "bind-unnamed-without-parse" => [.. PgWire.Message('B', [0, 0, 0, 0, 0, 0, 0, 0]), .. Sync],
            "execute-unknown-portal" => [.. PgWire.Message('E', [.. PgWire.CString("noportal"), 0, 0, 0, 0]), .. Sync],
            "describe-unknown-portal" => [.. PgWire.Message('D', [(byte)'P', .. PgWire.CString("noportal")]), .. Sync],
            "describe-unnamed-statement-without-parse" => [.. PgWire.Message('D', [(byte)'S', 0]), .. Sync],
            "bind-wrong-parameter-count" =>
            [
                .. PgWire.Message('P', [0, .. PgWire.CString("SELECT $1::int"), 0, 0]),
                .. PgWire.Message('B', [0, 0, 0, 0, 0, 0, 0, 0]),
                .. Sync,
            ],
            "query-without-terminator" => PgWire.Message('Q', "SELECT 1"u8.ToArray()),
            _ => throw new ArgumentOutOfRangeException(nameof(shape)),
        };
        await c.SendAsync(messages);
        var reply = await ReadToReadyAsync(c);
        output.WriteLine(string.Join("; ", reply));
        var error = Assert.Single(reply, m => m.Type == 'E');
        Assert.Equal(sqlState, error.Fields['C']);
        Assert.Equal("ERROR", error.Fields['S']);

        await AssertSessionWorksAsync(c);
        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>
    /// Bind/Describe/Close naming a statement the client never prepared, with prepared-statement tracking on
    /// (transaction pooling, max_prepared_statements &gt; 0): an error either way (PostgreSQL's 26000, or the pooler's
    /// own FATAL as PgBouncer does), and no server is left in a state that leaks to the next client.
    /// </summary>
    [Theory]
    [InlineData('B')]
    [InlineData('D')]
    [InlineData('C')]
    public async Task NamedStatementNeverPrepared_IsAnError_NotACrash(char type)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);
        await using var c = await host.LoginOkAsync();

        byte[] message = type switch
        {
            'B' => PgWire.Message('B', [0, .. PgWire.CString("nosuch"), 0, 0, 0, 0, 0, 0]),
            'D' => PgWire.Message('D', [(byte)'S', .. PgWire.CString("nosuch")]),
            _ => PgWire.Message('C', [(byte)'S', .. PgWire.CString("nosuch")]),
        };
        await c.SendAsync([.. message, .. Sync]);
        var o = new List<PgMessage>();
        var closed = false;
        while (true)
        {
            var m = await c.ReadAsync();
            if (m is null)
            {
                closed = true;
                break;
            }
            o.Add(m);
            if (m.Type == 'Z')
            {
                break;
            }
        }
        output.WriteLine($"closed={closed}: {string.Join("; ", o)}");
        if (type == 'C')
        {
            // Closing a statement that does not exist is not an error in PostgreSQL.
            Assert.False(closed);
            Assert.Contains(o, m => m.Type == '3');
        }
        else
        {
            var error = Assert.Single(o, m => m.Type == 'E');
            Assert.Contains(error.Fields['C'], new[] { "26000", "08P01" });
        }
        if (!closed)
        {
            await AssertSessionWorksAsync(c);
        }

        await host.AssertNextClientNotInTransactionAsync();
        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Thousands of Syncs in one write: every one gets its ReadyForQuery, the accounting does not drift.</summary>
    [Fact]
    public async Task ThousandsOfPipelinedSyncs_AreAnsweredAndTheServerIsReleased()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("default_pool_size", 2));
        await using var bystander = await Bystander.OpenAsync(host);
        await using var c = await host.LoginOkAsync();

        const int count = 5000;
        var batch = new byte[count * 5];
        for (var i = 0; i < count; i++)
        {
            Sync.CopyTo(batch, i * 5);
        }
        await c.SendAsync(batch);
        for (var i = 0; i < count; i++)
        {
            var m = await c.ReadAsync();
            Assert.Equal('Z', m?.Type);
        }
        await AssertSessionWorksAsync(c);

        // The server went back to the pool: with the bystander holding one of two, another client still gets one.
        await using var other = await host.OpenAsync();
        await other.ExecAsync("BEGIN");
        Assert.Equal(1, await other.ScalarAsync<int>("SELECT 1"));
        await other.ExecAsync("COMMIT");
        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>
    /// CancelRequests with random keys (one, then a burst of 200) while a well-behaved client runs a 1 s query:
    /// each is closed without a reply, nothing is cancelled.
    /// </summary>
    [Fact]
    public async Task CancelRequest_WithRandomKey_IsDroppedSilently_AndCancelsNothing()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);
        await using var victim = await host.OpenAsync();

        var sw = Stopwatch.StartNew();
        var running = victim.ScalarAsync<int>("SELECT 1 FROM pg_sleep(1.5)");
        await Task.Delay(200);

        await using (var c = await RawPgClient.ConnectAsync(host.Port))
        {
            await c.SendAsync([.. PgWire.Int32(16), .. PgWire.Int32(PgWire.CancelRequestCode), .. RandomNumberGenerator.GetBytes(8)]);
            var o = await c.ReadUntilClosedAsync();
            output.WriteLine(o.ToString());
            Assert.True(o.Closed, o.ToString());
            Assert.Empty(o.Messages);
            Assert.Equal(0, o.UnparsedBytes);
        }

        var burst = Enumerable.Range(0, 200).Select(async _ =>
        {
            await using var c = await RawPgClient.ConnectAsync(host.Port);
            await c.TrySendAsync([.. PgWire.Int32(16), .. PgWire.Int32(PgWire.CancelRequestCode), .. RandomNumberGenerator.GetBytes(8)]);
            return await c.ReadUntilClosedAsync();
        });
        var outcomes = await Task.WhenAll(burst);
        Assert.All(outcomes, o => Assert.True(o.Closed && o.Messages.Count == 0, o.ToString()));

        Assert.Equal(1, await running);   // not cancelled (a cancel would raise 57014)
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(1.4), $"the query ended early, after {sw.Elapsed}");
        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>A CancelRequest with the right key still works after the random ones (control).</summary>
    [Fact]
    public async Task CancelRequest_WithTheRightKey_StillCancels()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);
        await using var raw = await host.LoginOkAsync();

        var running = raw.QueryAsync("SELECT pg_sleep(10)");
        await Task.Delay(300);
        await using (var c = await RawPgClient.ConnectAsync(host.Port))
        {
            await c.SendAsync([.. PgWire.Int32(16), .. PgWire.Int32(PgWire.CancelRequestCode), .. PgWire.Int32(raw.BackendPid), .. PgWire.Int32(raw.BackendKey)]);
            Assert.True(await c.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        }
        var r = await running;
        Assert.Equal("57014", r.Error?.SqlState);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>A client that vanishes (RST) in the middle of an extended-protocol batch without Sync: its server is not reused dirty.</summary>
    [Fact]
    public async Task ResetMidBatch_WithoutSync_ServerIsNotReusedDirty()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("default_pool_size", 2));
        await using var bystander = await Bystander.OpenAsync(host);
        var c = await host.LoginOkAsync();
        await c.SendAsync([
            .. PgWire.Message('P', [0, .. PgWire.CString("BEGIN"), 0, 0]),
            .. PgWire.Message('B', [0, 0, 0, 0, 0, 0, 0, 0]),
            .. PgWire.Message('E', [0, 0, 0, 0, 0]),
            .. PgWire.Message('H', []),
        ]);
        await Task.Delay(300);
        c.Abort();
        await Task.Delay(300);

        for (var i = 0; i < 3; i++)
        {
            await host.AssertNextClientNotInTransactionAsync();
        }
        await bystander.AssertUnaffectedAsync();
    }
}
