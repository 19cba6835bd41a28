using System.Security.Cryptography;
using static Sluice.Auth.ScramTestVectors;

namespace Sluice.Auth;

public sealed class ScramServerExchangeTests
{
    private static readonly ScramSecret Secret = ScramSecret.FromPassword("correct horse", RandomNumberGenerator.GetBytes(16), 4096);

    [Fact]
    public void ReplaysRfc7677Exchange()
    {
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart);

        Assert.True(server.TryHandleClientFirst(Utf8(RfcClientFirst), out var serverFirst, out var error), error);
        Assert.Equal(RfcServerFirst, Text(serverFirst));

        Assert.True(server.TryHandleClientFinal(Utf8(RfcClientFinal), out var serverFinal, out error), error);
        Assert.Null(error);
        Assert.Equal(RfcServerFinal, Text(serverFinal));

        var salted = Rfc2898DeriveBytes.Pbkdf2("pencil"u8, Convert.FromBase64String(RfcSalt), RfcIterations, HashAlgorithmName.SHA256, 32);
        Assert.Equal(HMACSHA256.HashData(salted, "Client Key"u8), server.RecoveredClientKey);
    }

    [Fact]
    public void RoundTripWithClientSucceeds()
    {
        var client = ScramClientExchange.ForPassword("correct horse");
        var server = new ScramServerExchange(Secret);

        Assert.True(server.TryHandleClientFirst(client.CreateClientFirst(), out var serverFirst, out var error), error);
        Assert.True(client.TryHandleServerFirst(serverFirst, out var clientFinal, out error), error);
        Assert.True(server.TryHandleClientFinal(clientFinal, out var serverFinal, out error), error);
        Assert.True(client.VerifyServerFinal(serverFinal, out error), error);
        Assert.NotNull(server.RecoveredClientKey);
        Assert.Equal(32, server.RecoveredClientKey!.Length);
    }

    [Fact]
    public void PlainStoredPasswordRoundTrip()
    {
        var client = ScramClientExchange.ForPassword("pw");
        var server = new ScramServerExchange(ScramSecret.ForPlainPassword("alice", "pw", 4096));
        Assert.True(server.TryHandleClientFirst(client.CreateClientFirst(), out var serverFirst, out _));
        Assert.True(client.TryHandleServerFirst(serverFirst, out var clientFinal, out _));
        Assert.True(server.TryHandleClientFinal(clientFinal, out var serverFinal, out var error), error);
        Assert.True(client.VerifyServerFinal(serverFinal, out error), error);
    }

    [Fact]
    public void WrongPasswordFails()
    {
        var client = ScramClientExchange.ForPassword("wrong horse");
        var server = new ScramServerExchange(Secret);

        Assert.True(server.TryHandleClientFirst(client.CreateClientFirst(), out var serverFirst, out _));
        Assert.True(client.TryHandleServerFirst(serverFirst, out var clientFinal, out _));
        Assert.False(server.TryHandleClientFinal(clientFinal, out var serverFinal, out var error));
        Assert.Empty(serverFinal);
        Assert.Equal("SCRAM proof is invalid", error);
        Assert.Null(server.RecoveredClientKey);
    }

    [Fact]
    public void MockSecretNeverAuthenticates()
    {
        var client = ScramClientExchange.ForPassword("anything");
        var server = new ScramServerExchange(ScramSecret.CreateMock("nobody", 4096));
        Assert.True(server.TryHandleClientFirst(client.CreateClientFirst(), out var serverFirst, out _));
        Assert.True(client.TryHandleServerFirst(serverFirst, out var clientFinal, out _));
        Assert.False(server.TryHandleClientFinal(clientFinal, out _, out _));
    }

    [Fact]
    public void ForgedNonceFails()
    {
        var (server, clientFinal) = Negotiate();
        var forged = clientFinal.Replace(",r=rOprNGfwEbeRWgbNEkqO", ",r=rOprNGfwEbeRWgbNEkqX", StringComparison.Ordinal);
        Assert.False(server.TryHandleClientFinal(Utf8(forged), out _, out var error));
        Assert.Equal("SCRAM nonce mismatch", error);
    }

    [Fact]
    public void ClientNonceAloneIsRejected()
    {
        var (server, _) = Negotiate();
        var replay = "c=biws,r=" + RfcClientNonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        Assert.False(server.TryHandleClientFinal(Utf8(replay), out _, out var error));
        Assert.Equal("SCRAM nonce mismatch", error);
    }

    [Fact]
    public void MissingNonceFails()
    {
        var (server, _) = Negotiate();
        Assert.False(server.TryHandleClientFinal(Utf8("c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="), out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void TamperedProofFails()
    {
        var (server, clientFinal) = Negotiate();
        var proofStart = clientFinal.IndexOf(",p=", StringComparison.Ordinal) + 3;
        var proof = Convert.FromBase64String(clientFinal[proofStart..]);
        proof[7] ^= 0x01;
        var tampered = clientFinal[..proofStart] + Convert.ToBase64String(proof);
        Assert.False(server.TryHandleClientFinal(Utf8(tampered), out _, out var error));
        Assert.Equal("SCRAM proof is invalid", error);
    }

    [Fact]
    public void ChannelBindingEchoMustMatchHeader()
    {
        // "eSws" is base64("y,,") while the client announced "n,,".
        var (server, clientFinal) = Negotiate();
        var tampered = clientFinal.Replace("c=biws", "c=eSws", StringComparison.Ordinal);
        Assert.False(server.TryHandleClientFinal(Utf8(tampered), out _, out var error));
        Assert.Equal("SCRAM channel binding check failed", error);
    }

    [Fact]
    public void ClientSupportingChannelBindingIsAcceptedWithY()
    {
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart);
        Assert.True(server.TryHandleClientFirst(Utf8("y,,n=,r=" + RfcClientNonce), out var serverFirst, out var error), error);

        // Build the client's answer by hand: the echo is base64("y,,") and the AuthMessage covers it.
        const string withoutProof = "c=eSws,r=" + RfcClientNonce + RfcServerNoncePart;
        var salted = Rfc2898DeriveBytes.Pbkdf2("pencil"u8, Convert.FromBase64String(RfcSalt), RfcIterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var authMessage = Utf8("n=,r=" + RfcClientNonce + "," + Text(serverFirst) + "," + withoutProof);
        var signature = HMACSHA256.HashData(SHA256.HashData(clientKey), authMessage);
        var proof = new byte[32];
        for (var i = 0; i < 32; i++)
        {
            proof[i] = (byte)(clientKey[i] ^ signature[i]);
        }

        Assert.True(server.TryHandleClientFinal(Utf8(withoutProof + ",p=" + Convert.ToBase64String(proof)), out _, out error), error);
    }

    [Fact]
    public void ExtensionsBeforeProofAreCoveredByTheProof()
    {
        var (server, clientFinal) = Negotiate();
        var withExtension = clientFinal.Replace(",p=", ",x=ext,p=", StringComparison.Ordinal);
        Assert.False(server.TryHandleClientFinal(Utf8(withExtension), out _, out var error));
        Assert.Equal("SCRAM proof is invalid", error);
    }

    [Theory]
    [InlineData("", "malformed SCRAM client-first-message")]
    [InlineData("x,,n=,r=abc", "malformed SCRAM client-first-message: invalid channel binding flag")]
    [InlineData("n", "malformed SCRAM client-first-message: invalid channel binding flag")]
    [InlineData("n,", "malformed SCRAM client-first-message: invalid gs2 header")]
    [InlineData("p=tls-server-end-point,,n=,r=abc", "channel binding is not supported (SCRAM-SHA-256-PLUS was not offered)")]
    [InlineData("n,a=admin,n=,r=abc", "SCRAM authorization identity is not supported")]
    [InlineData("n,,m=ext,n=,r=abc", "SCRAM mandatory extensions are not supported")]
    [InlineData("n,,r=abc", "malformed SCRAM client-first-message: missing user name")]
    [InlineData("n,,n=", "malformed SCRAM client-first-message: missing or invalid nonce")]
    [InlineData("n,,n=,r=", "malformed SCRAM client-first-message: missing or invalid nonce")]
    [InlineData("n,,n=,r=a b", "malformed SCRAM client-first-message: missing or invalid nonce")]
    [InlineData("n,,n=,x=abc", "malformed SCRAM client-first-message: missing or invalid nonce")]
    public void MalformedClientFirstFailsWithError(string message, string expected)
    {
        var server = new ScramServerExchange(Secret);
        Assert.False(server.TryHandleClientFirst(Utf8(message), out var serverFirst, out var error));
        Assert.Empty(serverFirst);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void InvalidUtf8FailsWithError()
    {
        var server = new ScramServerExchange(Secret);
        Assert.False(server.TryHandleClientFirst([(byte)'n', (byte)',', (byte)',', 0xC3, 0x28], out _, out var error));
        Assert.NotNull(error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("c=biws")]
    [InlineData("c=!!!,r=N,p=AAAA")]
    [InlineData("r=N,c=biws,p=AAAA")]
    [InlineData("c=biws,r=N")]
    [InlineData("c=biws,r=N,p=")]
    [InlineData("c=biws,r=N,p=not-base64")]
    [InlineData("c=biws,r=N,p=AAAA")]
    [InlineData("c=biws,r=N,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=after")]
    public void MalformedClientFinalFailsWithError(string message)
    {
        var (server, _) = Negotiate();
        var combined = RfcClientNonce + RfcServerNoncePart;
        Assert.False(server.TryHandleClientFinal(Utf8(message.Replace("r=N", "r=" + combined, StringComparison.Ordinal)), out var serverFinal, out var error));
        Assert.Empty(serverFinal);
        Assert.NotNull(error);
    }

    [Fact]
    public void StepsOutOfOrderThrow()
    {
        var server = new ScramServerExchange(Secret);
        Assert.Throws<InvalidOperationException>(() => server.TryHandleClientFinal(Utf8(RfcClientFinal), out _, out _));

        Assert.False(server.TryHandleClientFirst(Utf8("garbage"), out _, out _));
        Assert.Throws<InvalidOperationException>(() => server.TryHandleClientFirst(Utf8(RfcClientFirst), out _, out _));
    }

    /// <summary>A server that has answered the RFC client-first, plus the client-final a real client would send.</summary>
    private static (ScramServerExchange Server, string ClientFinal) Negotiate()
    {
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart);
        Assert.True(server.TryHandleClientFirst(Utf8(RfcClientFirst), out _, out _));
        return (server, RfcClientFinal);
    }
}
