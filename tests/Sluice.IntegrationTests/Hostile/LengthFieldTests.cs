using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Hostile;

/// <summary>
/// Length fields that lie: in the startup packet (untyped, limit 10000 like PostgreSQL) and in typed messages after
/// login (limit max_packet_size). The pooler must refuse on the header alone, never wait for or allocate what a
/// header claims.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class LengthFieldTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    /// <summary>Startup length fields that cannot be right: answered with FATAL 08P01 at once, then closed.</summary>
    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(10_001)]
    [InlineData(65_536)]
    [InlineData(int.MaxValue)]
    public async Task StartupLength_Impossible_IsRefusedOnTheHeader(int length)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        await using var c = await RawPgClient.ConnectAsync(host.Port);
        // Only the length and a protocol version: a pooler that believes the length would wait here forever.
        await c.SendAsync([.. PgWire.Int32(length), .. PgWire.Int32(PgWire.ProtocolV3)]);
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", "length", host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Length 8 is the smallest legal packet, but a StartupMessage needs at least the terminator.</summary>
    [Fact]
    public async Task StartupLength_8_WithProtocolV3AndNoTerminator_IsRefused()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        await using var c = await RawPgClient.ConnectAsync(host.Port);
        await c.SendAsync([.. PgWire.Int32(8), .. PgWire.Int32(PgWire.ProtocolV3)]);
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", "startup packet", host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Exactly 10000 bytes is still allowed (PostgreSQL's limit is inclusive); it then fails on its content.</summary>
    [Fact]
    public async Task StartupLength_Exactly10000_IsReadAndJudgedOnContent()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        // user=app, database=appdb, junk=<padding> so the whole packet is exactly 10000 bytes.
        var fixedPart = PgWire.Startup(("user", "app"), ("database", "appdb"), ("junk", "")).Length;
        var packet = PgWire.Startup(("user", "app"), ("database", "appdb"), ("junk", new string('x', 10_000 - fixedPart)));
        Assert.Equal(10_000, packet.Length);
        await using var c = await RawPgClient.ConnectAsync(host.Port);
        await c.SendAsync(packet);
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", "unsupported startup parameter: junk", host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>A length larger than the bytes that follow, then EOF: the pooler notices the EOF and lets go.</summary>
    [Fact]
    public async Task StartupLength_LargerThanBytes_ThenEof_IsClosed()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);
        var before = host.Pooler.ClientCount;

        await using var c = await RawPgClient.ConnectAsync(host.Port);
        var real = PgWire.Startup(("user", "app"), ("database", "appdb"));
        var lying = real.ToArray();
        lying[3] = 200;   // claims 200 bytes, 33 follow
        await c.SendAsync(lying);
        c.ShutdownSend();
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.ClosedWithoutLogin(o, host);
        Assert.Equal(before, host.Pooler.ClientCount);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>After login: a typed message whose length cannot even count itself.</summary>
    [Theory]
    [InlineData(3)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public async Task TypedLength_BelowFour_AfterLogin_IsFatal08P01(int length)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        await using var c = await host.LoginOkAsync();
        await c.SendAsync(PgWire.TypedHeader('Q', length));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        Assert.True(o.Closed, o.ToString());
        var error = Assert.Single(o.Messages, m => m.Type == 'E');
        Assert.Equal("FATAL", error.Fields['S']);
        Assert.Equal("08P01", error.Fields['C']);
        Assert.Contains("length", error.Fields['M'], StringComparison.Ordinal);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>
    /// max_packet_size = 1 MB and a header claiming 100 MB: refused on the header alone, with no 100 MB buffer
    /// (GC allocation and working set of this process, where Sluice runs, stay far below 100 MB).
    /// </summary>
    [Fact]
    public async Task TypedLength_OverMaxPacketSize_IsRefusedWithoutAllocating()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("max_packet_size", 1_048_576));
        await using var bystander = await Bystander.OpenAsync(host);
        await using var c = await host.LoginOkAsync();
        // Warm up the forward path so its one-off allocations are not counted.
        await c.SendAsync(PgWire.Query("SELECT 1"));
        while ((await c.ReadAsync())?.Type is not ('Z' or null))
        {
        }

        var (allocatedBefore, workingSetBefore) = HostileAssert.Memory();
        await c.SendAsync([.. PgWire.TypedHeader('Q', 100 * 1024 * 1024), .. "SELECT "u8.ToArray()]);
        var o = await c.ReadUntilClosedAsync();
        var (allocatedAfter, workingSetAfter) = HostileAssert.Memory();
        output.WriteLine(o.ToString());
        output.WriteLine($"allocated +{(allocatedAfter - allocatedBefore) / 1024} KB, working set {(workingSetAfter - workingSetBefore) / 1024} KB");

        Assert.True(o.Closed, o.ToString());
        var error = Assert.Single(o.Messages, m => m.Type == 'E');
        Assert.Equal("08P01", error.Fields['C']);
        Assert.True(allocatedAfter - allocatedBefore < 50L * 1024 * 1024, $"{(allocatedAfter - allocatedBefore) / (1024 * 1024)} MB allocated for a refused header");
        Assert.True(workingSetAfter - workingSetBefore < 50L * 1024 * 1024, $"working set grew by {(workingSetAfter - workingSetBefore) / (1024 * 1024)} MB");

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>A message just within max_packet_size still goes through (the limit is not off by a lot).</summary>
    [Fact]
    public async Task TypedLength_WithinMaxPacketSize_IsForwarded()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("max_packet_size", 1_048_576));
        await using var bystander = await Bystander.OpenAsync(host);
        await using var c = await host.LoginOkAsync();
        var sql = "SELECT length('" + new string('y', 900_000) + "')";
        await c.SendAsync(PgWire.Query(sql));
        var values = new List<PgMessage>();
        while (await c.ReadAsync(TimeSpan.FromSeconds(10)) is { } m)
        {
            values.Add(m);
            if (m.Type == 'Z')
            {
                break;
            }
        }
        Assert.Contains(values, m => m.Type == 'D' && System.Text.Encoding.ASCII.GetString(m.Body).EndsWith("900000", StringComparison.Ordinal));
        Assert.DoesNotContain(values, m => m.Type == 'E');

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Length 2^31-1 with the default max_packet_size: would overflow "length + 1"; refused.</summary>
    [Fact]
    public async Task TypedLength_IntMaxValue_AfterLogin_IsRefused()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);
        await using var c = await host.LoginOkAsync();

        var (allocatedBefore, _) = HostileAssert.Memory();
        await c.SendAsync(PgWire.TypedHeader('Q', int.MaxValue));
        var o = await c.ReadUntilClosedAsync();
        var (allocatedAfter, _) = HostileAssert.Memory();
        output.WriteLine(o.ToString());
        Assert.True(o.Closed, o.ToString());
        var error = Assert.Single(o.Messages, m => m.Type == 'E');
        Assert.Equal("08P01", error.Fields['C']);
        Assert.True(allocatedAfter - allocatedBefore < 50L * 1024 * 1024, $"{(allocatedAfter - allocatedBefore) / (1024 * 1024)} MB allocated");

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>During login: a PasswordMessage whose length lies (below 4, or far over the login limit).</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(-5)]
    [InlineData(1_000_000)]
    [InlineData(int.MaxValue)]
    public async Task PasswordMessageLength_Impossible_IsFatal08P01(int length)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);
        await using var c = await RawPgClient.ConnectAsync(host.Port);
        await c.SendAsync(PgWire.Startup(("user", "app"), ("database", "appdb")));
        var request = await c.ReadAsync();
        Assert.Equal(5, request?.AuthCode);

        await c.SendAsync(PgWire.TypedHeader('p', length));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", "length", host);

        await bystander.AssertUnaffectedAsync();
    }
}
