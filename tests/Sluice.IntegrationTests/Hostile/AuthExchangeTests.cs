using System.Text;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Hostile;

/// <summary>
/// Hostile authentication exchanges: a second StartupMessage instead of a password (CVE-2026-107350 class),
/// forged or broken SCRAM messages, unknown mechanisms, over-long SASL messages. None may log in; each fails
/// with 28P01 or 08P01 within a few seconds.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AuthExchangeTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string User = PostgresInstance.AppUser;
    private const string Password = PostgresInstance.AppPassword;

    private PostgresInstance Pg => fixture.Postgres;

    private Task<TestPooler> StartAsync(string authType) =>
        TestPooler.StartAsync(Pg, output, ini => ini.Setting("auth_type", authType));

    private static byte[] AppStartup => PgWire.Startup(("user", User), ("database", PostgresInstance.AppDatabase));

    /// <summary>Connects, sends the startup packet and returns the client after the first authentication request.</summary>
    private static async Task<(RawPgClient Client, PgMessage Request)> BeginAsync(TestPooler host, byte[]? startup = null)
    {
        var c = await RawPgClient.ConnectAsync(host.Port);
        await c.SendAsync(startup ?? AppStartup);
        var request = await c.ReadAsync() ?? throw new InvalidOperationException("closed before the auth request");
        return (c, request);
    }

    /// <summary>SCRAM up to server-first: returns the client-first-bare, the server-first and its parts.</summary>
    private static async Task<(string ClientFirstBare, string ServerFirst, string ClientNonce)> ScramFirstAsync(RawPgClient c)
    {
        var clientNonce = ScramClient.NewNonce();
        var bare = $"n=,r={clientNonce}";
        await c.SendAsync(PgWire.SaslInitial("SCRAM-SHA-256", "n,," + bare));
        var cont = await c.ReadAsync() ?? throw new InvalidOperationException("closed after client-first");
        Assert.Equal(11, cont.AuthCode);
        return (bare, Encoding.UTF8.GetString(cont.Body, 4, cont.Body.Length - 4), clientNonce);
    }

    /// <summary>Positive control: the hand-made SCRAM client logs in, so the negative cases below fail for their reason.</summary>
    [Fact]
    public async Task Scram_CorrectExchange_LogsIn()
    {
        await using var host = await StartAsync("scram-sha-256");
        var (c, request) = await BeginAsync(host);
        await using var _ = c;
        Assert.Equal(10, request.AuthCode);
        Assert.Contains("SCRAM-SHA-256", Encoding.UTF8.GetString(request.Body), StringComparison.Ordinal);

        var (bare, serverFirst, clientNonce) = await ScramFirstAsync(c);
        var (nonce, salt, iterations) = ScramClient.ParseServerFirst(serverFirst);
        Assert.StartsWith(clientNonce, nonce, StringComparison.Ordinal);
        var withoutProof = $"c=biws,r={nonce}";
        await c.SendAsync(PgWire.SaslResponse($"{withoutProof},p={ScramClient.Proof(Password, salt, iterations, bare, serverFirst, withoutProof)}"));

        var final = await c.ReadAsync();
        Assert.Equal(12, final?.AuthCode);
        Assert.Equal(0, (await c.ReadAsync())?.AuthCode);
        while ((await c.ReadAsync())?.Type is { } t && t != 'Z')
        {
        }
        await c.SendAsync(PgWire.Query("SELECT current_user"));
        var rows = new List<PgMessage>();
        while (await c.ReadAsync() is { Type: not 'Z' } m)
        {
            rows.Add(m);
        }
        Assert.Contains(rows, m => m.Type == 'D' && Encoding.UTF8.GetString(m.Body).EndsWith(User, StringComparison.Ordinal));
    }

    /// <summary>
    /// A second StartupMessage where the password belongs (same user, as a confused or malicious client would):
    /// PostgreSQL answers "expected password response, got message type 0" at once; PgBouncer "client re-sent
    /// startup pkt". The pooler must end the login promptly, not read the packet's bytes as a 'p' header.
    /// </summary>
    [Theory]
    [InlineData("md5", "app")]
    [InlineData("scram-sha-256", "app")]
    [InlineData("md5", "postgres")]
    [InlineData("scram-sha-256", "postgres")]
    public async Task SecondStartup_InsteadOfPassword_IsRefusedPromptly(string authType, string secondUser)
    {
        await using var host = await StartAsync(authType);
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, request) = await BeginAsync(host);
        await using var _ = c;
        Assert.Equal(authType == "md5" ? 5 : 10, request.AuthCode);

        await c.SendAsync(PgWire.Startup(("user", secondUser), ("database", PostgresInstance.AppDatabase)));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", null, host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>The CVE's own shape: a second StartupMessage in the middle of SCRAM, after client-first.</summary>
    [Fact]
    public async Task SecondStartup_InsteadOfScramClientFinal_IsRefusedPromptly()
    {
        await using var host = await StartAsync("scram-sha-256");
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, _) = await BeginAsync(host);
        await using var __ = c;
        await ScramFirstAsync(c);

        await c.SendAsync(PgWire.Startup(("user", "postgres"), ("database", PostgresInstance.AppDatabase)));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", null, host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>A second startup packet long enough that its bytes read as an impossible 'p' length (control case).</summary>
    [Fact]
    public async Task SecondStartup_Long_InsteadOfPassword_IsRefused()
    {
        await using var host = await StartAsync("md5");
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, _) = await BeginAsync(host);
        await using var __ = c;

        await c.SendAsync(PgWire.Startup(("user", "app"), ("database", "appdb"), ("application_name", new string('a', 40))));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", null, host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>SASLInitialResponse payloads that are not a usable client-first-message.</summary>
    [Theory]
    [InlineData("n,,n=")]                                   // no nonce at all
    [InlineData("n,,n=,r=")]                                // empty nonce
    [InlineData("n,,r=abcdef")]                             // nonce without the user attribute
    [InlineData("p=tls-server-end-point,,n=,r=abcdefgh")]   // channel binding without TLS / without -PLUS
    [InlineData("x,,n=,r=abcdefgh")]                        // unknown gs2 flag
    [InlineData("n,a=postgres,n=,r=abcdefgh")]              // authzid: impersonation attempt
    [InlineData("n,,m=ext,n=,r=abcdefgh")]                  // mandatory extension
    [InlineData("")]                                        // empty
    public async Task Scram_MalformedClientFirst_Fails08P01(string clientFirst)
    {
        await using var host = await StartAsync("scram-sha-256");
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, _) = await BeginAsync(host);
        await using var __ = c;

        await c.SendAsync(PgWire.SaslInitial("SCRAM-SHA-256", clientFirst));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", null, host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Broken SASLInitialResponse framing: declared data length that does not match, no mechanism terminator.</summary>
    [Theory]
    [InlineData(1000)]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    [InlineData(int.MinValue)]
    public async Task Scram_InitialResponse_WrongDeclaredLength_Fails08P01(int declared)
    {
        await using var host = await StartAsync("scram-sha-256");
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, _) = await BeginAsync(host);
        await using var __ = c;

        await c.SendAsync(PgWire.SaslInitial("SCRAM-SHA-256", Encoding.UTF8.GetBytes("n,,n=,r=abcdefgh"), declared));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", null, host);

        await bystander.AssertUnaffectedAsync();
    }

    [Fact]
    public async Task Scram_InitialResponse_WithoutMechanismTerminator_Fails08P01()
    {
        await using var host = await StartAsync("scram-sha-256");
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, _) = await BeginAsync(host);
        await using var __ = c;

        await c.SendAsync(PgWire.Message('p', Encoding.ASCII.GetBytes("SCRAM-SHA-256")));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", null, host);

        await bystander.AssertUnaffectedAsync();
    }

    [Theory]
    [InlineData("SCRAM-SHA-1")]
    [InlineData("SCRAM-SHA-256-PLUS")]
    [InlineData("PLAIN")]
    [InlineData("")]
    public async Task Scram_UnknownMechanism_Fails08P01(string mechanism)
    {
        await using var host = await StartAsync("scram-sha-256");
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, _) = await BeginAsync(host);
        await using var __ = c;

        await c.SendAsync(PgWire.SaslInitial(mechanism, "n,,n=,r=abcdefgh"));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", "mechanism", host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>
    /// client-final-messages that must not log in even though the client knows the password: the proof is
    /// computed correctly over what is sent, only the nonce or proof is forged. Each → 28P01.
    /// </summary>
    [Theory]
    [InlineData("forged-nonce")]        // a nonce that does not start with the client's
    [InlineData("client-nonce-only")]   // the client's part without the server's
    [InlineData("nonce-prefix")]        // combined nonce with one character cut off
    [InlineData("nonce-suffix")]        // combined nonce with something appended
    [InlineData("no-nonce")]            // CVE (1.26.0): client-final without a nonce
    [InlineData("wrong-proof")]
    [InlineData("short-proof")]
    [InlineData("bad-base64-proof")]
    [InlineData("empty-proof")]
    [InlineData("no-proof")]
    [InlineData("wrong-channel-binding")]
    [InlineData("wrong-password")]
    public async Task Scram_ForgedClientFinal_Fails28P01(string forgery)
    {
        await using var host = await StartAsync("scram-sha-256");
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, _) = await BeginAsync(host);
        await using var __ = c;
        var (bare, serverFirst, clientNonce) = await ScramFirstAsync(c);
        var (nonce, salt, iterations) = ScramClient.ParseServerFirst(serverFirst);

        string Final(string channelBinding, string? nonceValue, Func<string, string> proof)
        {
            var withoutProof = nonceValue is null ? $"c={channelBinding}" : $"c={channelBinding},r={nonceValue}";
            return $"{withoutProof},p={proof(withoutProof)}";
        }
        string RealProof(string withoutProof) => ScramClient.Proof(Password, salt, iterations, bare, serverFirst, withoutProof);

        var message = forgery switch
        {
            "forged-nonce" => Final("biws", ScramClient.NewNonce() + nonce[clientNonce.Length..], RealProof),
            "client-nonce-only" => Final("biws", clientNonce, RealProof),
            "nonce-prefix" => Final("biws", nonce[..^1], RealProof),
            "nonce-suffix" => Final("biws", nonce + "x", RealProof),
            "no-nonce" => Final("biws", null, RealProof),
            "wrong-proof" => Final("biws", nonce, _ => Convert.ToBase64String(new byte[32])),
            "short-proof" => Final("biws", nonce, _ => Convert.ToBase64String(new byte[8])),
            "bad-base64-proof" => Final("biws", nonce, _ => "!!!not*base64@@"),
            "empty-proof" => Final("biws", nonce, _ => ""),
            "no-proof" => $"c=biws,r={nonce}",
            "wrong-channel-binding" => Final(Convert.ToBase64String("y,,"u8.ToArray()), nonce, RealProof),
            "wrong-password" => Final("biws", nonce, w => ScramClient.Proof("not-" + Password, salt, iterations, bare, serverFirst, w)),
            _ => throw new ArgumentOutOfRangeException(nameof(forgery)),
        };
        await c.SendAsync(PgWire.SaslResponse(message));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, ["28P01", "08P01"], host);
        Assert.DoesNotContain(o.Messages, m => m.AuthCode == 12);   // no server signature for a failed proof

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Over-long SASL messages: only the header is sent; the pooler must refuse it without waiting for the body.</summary>
    [Theory]
    [InlineData("initial", 1_000_000)]
    [InlineData("initial", int.MaxValue)]
    [InlineData("final", 1_000_000)]
    [InlineData("final", int.MaxValue)]
    public async Task Scram_OverlongSaslMessage_Fails08P01(string step, int length)
    {
        await using var host = await StartAsync("scram-sha-256");
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, _) = await BeginAsync(host);
        await using var __ = c;
        if (step == "final")
        {
            await ScramFirstAsync(c);
        }

        var (allocatedBefore, _) = HostileAssert.Memory();
        await c.SendAsync([.. PgWire.TypedHeader('p', length), .. "SCRAM-SHA-256\0"u8.ToArray()]);
        var o = await c.ReadUntilClosedAsync();
        var (allocatedAfter, _) = HostileAssert.Memory();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", null, host);
        Assert.True(allocatedAfter - allocatedBefore < 50L * 1024 * 1024, $"{(allocatedAfter - allocatedBefore) / (1024 * 1024)} MB allocated");

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>An over-long SASL message sent in full (9 KB of nonce, under the login limit): rejected, not echoed.</summary>
    [Fact]
    public async Task Scram_HugeNonceWithinLimit_IsHandled()
    {
        await using var host = await StartAsync("scram-sha-256");
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, _) = await BeginAsync(host);
        await using var __ = c;

        await c.SendAsync(PgWire.SaslInitial("SCRAM-SHA-256", "n,,n=,r=" + new string('A', 9_000)));
        // Either refused, or answered with a server-first; a client-final with a wrong proof must then fail.
        var first = await c.ReadAsync();
        if (first?.AuthCode == 11)
        {
            var serverFirst = Encoding.UTF8.GetString(first.Body, 4, first.Body.Length - 4);
            var (nonce, _, _) = ScramClient.ParseServerFirst(serverFirst);
            await c.SendAsync(PgWire.SaslResponse($"c=biws,r={nonce},p={Convert.ToBase64String(new byte[32])}"));
            var o = await c.ReadUntilClosedAsync();
            output.WriteLine(o.ToString());
            HostileAssert.FatalThenClosed(o, "28P01", null, host);
        }
        else
        {
            var o = await c.ReadUntilClosedAsync();
            o.Messages.Insert(0, first!);
            output.WriteLine(o.ToString());
            HostileAssert.ClosedWithoutLogin(o, host);
            Assert.Contains(o.Messages, m => m.Type == 'E' && m.Fields['C'] is "08P01" or "28P01");
        }

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>A SASL message where a cleartext/md5 password is expected, and an md5 answer to a SASL request.</summary>
    [Fact]
    public async Task Md5Request_AnsweredWithSaslInitialResponse_Fails28P01()
    {
        await using var host = await StartAsync("md5");
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, request) = await BeginAsync(host);
        await using var _ = c;
        Assert.Equal(5, request.AuthCode);

        await c.SendAsync(PgWire.SaslInitial("SCRAM-SHA-256", "n,,n=,r=abcdefgh"));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "28P01", null, host);

        await bystander.AssertUnaffectedAsync();
    }

    [Fact]
    public async Task ScramRequest_AnsweredWithMd5Password_Fails08P01()
    {
        await using var host = await StartAsync("scram-sha-256");
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, _) = await BeginAsync(host);
        await using var __ = c;

        await c.SendAsync(PgWire.Message('p', PgWire.CString("md5" + new string('0', 32))));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", null, host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>A message other than 'p' during authentication (a Query before logging in).</summary>
    [Fact]
    public async Task QueryInsteadOfPassword_Fails08P01()
    {
        await using var host = await StartAsync("md5");
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, _) = await BeginAsync(host);
        await using var __ = c;

        await c.SendAsync(PgWire.Query("SELECT 1"));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "08P01", null, host);

        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>An empty password for a user with a password (cleartext and md5 with an empty string).</summary>
    [Theory]
    [InlineData("plain")]
    [InlineData("md5")]
    public async Task EmptyPassword_Fails28P01(string authType)
    {
        await using var host = await StartAsync(authType);
        await using var bystander = await Bystander.OpenAsync(host);
        var (c, _) = await BeginAsync(host);
        await using var __ = c;

        await c.SendAsync(PgWire.Message('p', [0]));
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "28P01", null, host);

        await bystander.AssertUnaffectedAsync();
    }
}
