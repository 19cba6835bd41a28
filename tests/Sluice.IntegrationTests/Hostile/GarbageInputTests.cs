using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Hostile;

/// <summary>Bytes that are not PostgreSQL at all: random data, HTTP, TLS to a pooler without TLS, instant resets.</summary>
[Collection(PostgresCollection.Name)]
public sealed class GarbageInputTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    /// <summary>Random first packets (fixed seeds so a failure reproduces): closed promptly, never logged in.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task RandomBytes_AsFirstPacket_AreClosedCleanly(int seed)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

#pragma warning disable CA5394 // deterministic garbage, not security
        var random = new Random(seed);
        var garbage = new byte[16 * 1024];
        random.NextBytes(garbage);
#pragma warning restore CA5394
        await using var c = await RawPgClient.ConnectAsync(host.Port);
        await c.TrySendAsync(garbage);
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine($"first bytes {Convert.ToHexString(garbage, 0, 8)}: {o}");
        HostileAssert.ClosedWithoutLogin(o, host);
        if (o.Error is { } e)
        {
            Assert.Equal("08P01", e.Fields['C']);
        }

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Random bytes that do start with a plausible length and the v3 version: the parameter parser copes.</summary>
    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    public async Task RandomParameterBytes_InAWellFramedStartupPacket_AreHandled(int seed)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

#pragma warning disable CA5394
        var random = new Random(seed);
        var body = new byte[random.Next(1, 9000)];
        random.NextBytes(body);
#pragma warning restore CA5394
        await using var c = await RawPgClient.ConnectAsync(host.Port);
        await c.SendAsync([.. PgWire.Int32(body.Length + 8), .. PgWire.Int32(PgWire.ProtocolV3), .. body]);
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine($"{body.Length} random parameter bytes: {o}");
        Assert.False(o.LoggedIn, o.ToString());
        // Refused at once, or (if the random bytes parse as parameters that happen to be acceptable) asked for a password.
        Assert.True(o.Closed || o.Messages.Any(m => m.AuthCode == 5), o.ToString());

        await bystander.AssertUnaffectedAsync();
    }

    [Fact]
    public async Task HttpRequest_IsClosedCleanly()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        await using var c = await RawPgClient.ConnectAsync(host.Port);
        await c.TrySendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n"));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.ClosedWithoutLogin(o, host);
        if (o.Error is { } e)
        {
            Assert.Equal("08P01", e.Fields['C']);
        }

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>A real TLS handshake (SslStream) against a pooler without TLS: the handshake fails fast, nothing hangs.</summary>
    [Fact]
    public async Task TlsClientHello_WithoutTlsConfigured_FailsFast()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(System.Net.IPAddress.Loopback, host.Port);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await using var ssl = new SslStream(stream, leaveInnerStreamOpen: true, (_, _, _, _) => true);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var ex = await Record.ExceptionAsync(() => ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [new SslApplicationProtocol("postgresql")],
        }, cts.Token));
        output.WriteLine(ex?.ToString() ?? "no exception");
        Assert.NotNull(ex);
        Assert.False(ex is OperationCanceledException, "the TLS handshake hung instead of failing: " + ex);
        Assert.True(ex is AuthenticationException or IOException, ex.ToString());

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>The raw bytes of a ClientHello record header (0x16 0x03 0x01 …) as a first packet: refused on the length.</summary>
    [Fact]
    public async Task RawClientHelloBytes_WithoutTlsConfigured_AreClosedCleanly()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        await using var c = await RawPgClient.ConnectAsync(host.Port);
        byte[] hello = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03, .. new byte[64]];
        await c.TrySendAsync(hello);
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.ClosedWithoutLogin(o, host);
        if (o.Error is { } e)
        {
            Assert.Equal("08P01", e.Fields['C']);
        }

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>SSLRequest / GSSENCRequest without TLS: 'N', then a normal login still works on the same connection.</summary>
    [Fact]
    public async Task SslAndGssRequests_AreRefusedWithN_ThenLoginWorks()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        await using var c = await RawPgClient.ConnectAsync(host.Port);
        await c.SendAsync([.. PgWire.Int32(8), .. PgWire.Int32(PgWire.SslRequestCode)]);
        Assert.Equal('N', (char)await c.ReadByteAsync());
        await c.SendAsync([.. PgWire.Int32(8), .. PgWire.Int32((1234 << 16) | 5680)]);
        Assert.Equal('N', (char)await c.ReadByteAsync());
        await c.SendAsync(PgWire.Startup(("user", "app"), ("database", "appdb")));
        var request = await c.ReadAsync();
        Assert.Equal(5, request?.AuthCode);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>
    /// Bytes pipelined right after an SSLRequest (before the answer) are the CVE-2021-23214 injection shape; without
    /// TLS they are just the next packet. Here: SSLRequest + garbage in one write → closed, no login.
    /// </summary>
    [Fact]
    public async Task SslRequest_FollowedByGarbage_IsClosed()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        await using var c = await RawPgClient.ConnectAsync(host.Port);
        await c.TrySendAsync([.. PgWire.Int32(8), .. PgWire.Int32(PgWire.SslRequestCode), 0x7F, 0xFF, 0xFF, 0xFF, .. "garbage"u8.ToArray()]);
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.ClosedWithoutLogin(o, host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>200 connections that reset (RST) right after connecting, some after a byte: the listener keeps accepting.</summary>
    [Fact]
    public async Task ConnectAndResetStorm_ListenerSurvives()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        for (var i = 0; i < 200; i++)
        {
            var c = await RawPgClient.ConnectAsync(host.Port);
            if (i % 2 == 0)
            {
                await c.TrySendAsync(new byte[] { 0 });
            }
            c.Abort();
        }
        await HostileAssert.WaitForAsync(() => host.Pooler.ClientCount <= 1, TimeSpan.FromSeconds(5), "reset clients to be gone");

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Connections that send nothing at all are closed by client_login_timeout, not kept forever.</summary>
    [Fact]
    public async Task SilentConnections_AreClosedByClientLoginTimeout()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("client_login_timeout", 2));
        await using var bystander = await Bystander.OpenAsync(host);

        var silent = new List<RawPgClient>();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                silent.Add(await RawPgClient.ConnectAsync(host.Port));
            }
            var outcomes = await Task.WhenAll(silent.Select(c => c.ReadUntilClosedAsync(TimeSpan.FromSeconds(8))));
            output.WriteLine(outcomes[0].ToString());
            Assert.All(outcomes, o => Assert.True(o.Closed && !o.LoggedIn, o.ToString()));
        }
        finally
        {
            foreach (var c in silent)
            {
                await c.DisposeAsync();
            }
        }

        await bystander.AssertUnaffectedAsync();
    }
}
