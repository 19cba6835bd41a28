using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Hostile;

/// <summary>Hostile startup parameters: huge options, parameter floods, unknown names, malformed lists.</summary>
[Collection(PostgresCollection.Name)]
public sealed class StartupParameterTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    private static async Task<Outcome> SendStartupAsync(TestPooler host, byte[] packet)
    {
        await using var c = await RawPgClient.ConnectAsync(host.Port);
        await c.SendAsync(packet);
        return await c.ReadUntilClosedAsync();
    }

    /// <summary>An 8 KB options parameter full of -c items the pooler cannot track: a clean FATAL, promptly.</summary>
    [Fact]
    public async Task HugeOptions_8KB_CleanError()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        var options = string.Concat(Enumerable.Repeat("-c work_mem=64kB ", 8192 / 17 + 1))[..8192];
        var o = await SendStartupAsync(host, PgWire.Startup(("user", "app"), ("database", "appdb"), ("options", options)));
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", "options", host);
        Assert.True(o.Elapsed < TimeSpan.FromSeconds(3), $"took {o.Elapsed}");

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>CVE-2026-107349 shape: "-c=" items in options made PgBouncer spin. Must end promptly.</summary>
    [Theory]
    [InlineData("-c=")]
    [InlineData("-c")]
    [InlineData("--=")]
    [InlineData("-c= -c= -c= -c=")]
    [InlineData("-c =x")]
    [InlineData("\\")]
    [InlineData("-c application_name=\\")]
    public async Task MalformedOptions_DoNotSpin(string options)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        await using var c = await RawPgClient.ConnectAsync(host.Port);
        await c.SendAsync(PgWire.Startup(("user", "app"), ("database", "appdb"), ("options", options)));
        // Either refused, or (if the pooler accepts it) an md5 request: both are prompt and neither logs in.
        var first = await c.ReadAsync(TimeSpan.FromSeconds(3));
        output.WriteLine($"options={options}: {first}");
        Assert.NotNull(first);
        if (first.Type == 'E')
        {
            Assert.Equal("08P01", first.Fields['C']);
            Assert.True(await c.WaitForCloseAsync(TimeSpan.FromSeconds(3)), "not closed after the error");
        }
        else
        {
            Assert.Equal(5, first.AuthCode);
        }

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Many distinct parameters within the 10000-byte limit: refused by name, promptly.</summary>
    [Fact]
    public async Task ManyUnknownParameters_WithinPacketLimit_CleanError()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        var parameters = new List<(string, string)> { ("user", "app"), ("database", "appdb") };
        parameters.AddRange(Enumerable.Range(0, 1100).Select(i => ($"p{i}", "v")));
        var packet = PgWire.Startup([.. parameters]);
        Assert.True(packet.Length < 10_000, $"{packet.Length}");
        var o = await SendStartupAsync(host, packet);
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", "unsupported startup parameter: p0", host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>The same parameter repeated 1000 times (ignored name): the packet is parsed and the login proceeds normally.</summary>
    [Fact]
    public async Task RepeatedIgnoredParameter_WithinLimit_IsHarmless()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("ignore_startup_parameters", "extra_float_digits"));
        await using var bystander = await Bystander.OpenAsync(host);

        var parameters = new List<(string, string)> { ("user", "app"), ("database", "appdb") };
        parameters.AddRange(Enumerable.Repeat(("extra_float_digits", "3"), 400));
        await using var c = await RawPgClient.ConnectAsync(host.Port);
        await c.SendAsync(PgWire.Startup([.. parameters]));
        Assert.Equal(5, (await c.ReadAsync())?.AuthCode);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>An unbounded number of parameters: the 10000-byte startup limit caps it; only the header is needed to refuse.</summary>
    [Fact]
    public async Task UnboundedParameters_OverPacketLimit_CleanError()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        var parameters = new List<(string, string)> { ("user", "app"), ("database", "appdb") };
        parameters.AddRange(Enumerable.Range(0, 50_000).Select(i => ($"p{i}", "v")));
        var packet = PgWire.Startup([.. parameters]);
        await using var c = await RawPgClient.ConnectAsync(host.Port);
        // The first 4 KB: a pooler that believes the length waits for the rest; one that checks it refuses now.
        await c.SendAsync(packet.AsMemory(0, 4096));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine($"packet {packet.Length} bytes: {o}");
        HostileAssert.FatalThenClosed(o, "08P01", "length", host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Parameter lists that are not well-formed.</summary>
    [Theory]
    [InlineData("no-terminator")]
    [InlineData("key-without-value")]
    [InlineData("invalid-utf8")]
    [InlineData("empty-user")]
    [InlineData("no-user")]
    public async Task MalformedParameterList_CleanError(string shape)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        byte[] body = shape switch
        {
            "no-terminator" => [.. PgWire.Int32(PgWire.ProtocolV3), .. PgWire.CString("user"), .. PgWire.CString("app")],
            "key-without-value" => [.. PgWire.Int32(PgWire.ProtocolV3), .. PgWire.CString("user"), .. "app"u8.ToArray()],
            "invalid-utf8" => [.. PgWire.Int32(PgWire.ProtocolV3), .. PgWire.CString("user"), 0xC3, 0x28, 0xFF, 0, 0],
            "empty-user" => [.. PgWire.Int32(PgWire.ProtocolV3), .. PgWire.CString("user"), .. PgWire.CString(""), 0],
            "no-user" => [.. PgWire.Int32(PgWire.ProtocolV3), .. PgWire.CString("database"), .. PgWire.CString("appdb"), 0],
            _ => throw new ArgumentOutOfRangeException(nameof(shape)),
        };
        await using var c = await RawPgClient.ConnectAsync(host.Port);
        await c.SendAsync([.. PgWire.Int32(body.Length + 4), .. body]);
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        Assert.False(o.LoggedIn, o.ToString());
        if (shape == "invalid-utf8")
        {
            // A user name that is not valid UTF-8 cannot match any auth_file entry: refused now or after the password.
            Assert.True(o.Closed || o.Messages.Any(m => m.AuthCode == 5), o.ToString());
        }
        else
        {
            HostileAssert.FatalThenClosed(o, "08P01", null, host);
        }

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Unknown startup parameter → 08P01 "unsupported startup parameter: X" (PgBouncer's text).</summary>
    [Fact]
    public async Task UnknownStartupParameter_Is08P01_WithItsName()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        var o = await SendStartupAsync(host, PgWire.Startup(("user", "app"), ("database", "appdb"), ("extra_float_digits", "3")));
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", "unsupported startup parameter: extra_float_digits", host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>ignore_startup_parameters = extra_float_digits: the same startup logs in and runs queries.</summary>
    [Fact]
    public async Task IgnoredStartupParameter_IsAccepted()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("ignore_startup_parameters", "extra_float_digits"));
        await using var bystander = await Bystander.OpenAsync(host);

        await using (var raw = await host.LoginOkAsync(parameters: [("extra_float_digits", "3")]))
        {
            var r = await raw.QueryAsync("SELECT 1.5::float8::text");
            Assert.Null(r.Error);
            Assert.Equal("1.5", r.FirstValue);
        }

        // Another unknown name is still refused.
        var o = await SendStartupAsync(host, PgWire.Startup(("user", "app"), ("database", "appdb"), ("geqo", "off")));
        HostileAssert.FatalThenClosed(o, "08P01", "unsupported startup parameter: geqo", host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Protocol versions that are not 3.x: v2, v4, garbage, and a cancel-code packet of the wrong size.</summary>
    [Theory]
    [InlineData(2 << 16, "V2")]
    [InlineData(4 << 16, null)]
    [InlineData(0x12345678, null)]
    [InlineData(PgWire.CancelRequestCode, null)]
    public async Task BadProtocolVersion_CleanError(int version, string? messagePart)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        await using var bystander = await Bystander.OpenAsync(host);

        byte[] body = [.. PgWire.Int32(version), .. PgWire.CString("user"), .. PgWire.CString("app"), 0];
        var o = await SendStartupAsync(host, [.. PgWire.Int32(body.Length + 4), .. body]);
        output.WriteLine(o.ToString());
        Assert.True(o.Closed, o.ToString());
        Assert.False(o.LoggedIn, o.ToString());
        var error = o.Error;
        Assert.NotNull(error);
        Assert.Contains(error.Fields['C'], new[] { "08P01", "0A000" });
        if (messagePart is not null)
        {
            Assert.Contains(messagePart, error.Fields['M'], StringComparison.OrdinalIgnoreCase);
        }

        await bystander.AssertUnaffectedAsync();
    }
}
