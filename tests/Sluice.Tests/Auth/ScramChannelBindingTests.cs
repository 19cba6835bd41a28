using System.Security.Cryptography;
using static Sluice.Auth.ScramTestVectors;

namespace Sluice.Auth;

/// <summary>
/// SCRAM-SHA-256-PLUS on the server side: the gs2 header must agree with the mechanism and with what was offered,
/// and c= must carry this connection's tls-server-end-point data (PostgreSQL's auth-scram.c rules).
/// </summary>
public sealed class ScramChannelBindingTests
{
    private const string Plus = ScramServerExchange.PlusMechanismName;
    private const string Plain = ScramServerExchange.MechanismName;
    private const string Header = "p=tls-server-end-point,,";

    /// <summary>Stands in for SHA-256 of Sluice's certificate.</summary>
    private static readonly byte[] EndPoint = SHA256.HashData("the server certificate"u8);

    [Fact]
    public void Plus_RoundTrip_WithTheRightBinding_LogsIn_AndRecoversTheClientKey()
    {
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart, EndPoint);
        Assert.True(server.OffersChannelBinding);

        Assert.True(server.TryHandleClientFirst(Plus, Utf8(Header + "n=,r=" + RfcClientNonce), out var serverFirst, out var error), error);
        var final = ClientFinal(Header, EndPoint, Text(serverFirst));
        Assert.True(server.TryHandleClientFinal(Utf8(final), out var serverFinal, out error), error);
        Assert.StartsWith("v=", Text(serverFinal), StringComparison.Ordinal);

        // Pass-through: binding changes what the proof covers, not the key it reveals.
        Assert.Equal(ClientKey(), server.RecoveredClientKey);
        Assert.Equal(ScramFailure.None, server.Failure);
    }

    [Fact]
    public void Plus_WithAPlainStoredPassword_LogsIn()
    {
        var server = new ScramServerExchange(ScramSecret.ForPlainPassword("alice", RfcPassword, RfcIterations), RfcServerNoncePart, EndPoint);
        Assert.True(server.TryHandleClientFirst(Plus, Utf8(Header + "n=,r=" + RfcClientNonce), out var serverFirst, out var error), error);

        var (_, salt, iterations) = ParseServerFirst(Text(serverFirst));
        var final = ClientFinal(Header, EndPoint, Text(serverFirst), salt, iterations);
        Assert.True(server.TryHandleClientFinal(Utf8(final), out _, out error), error);
    }

    [Theory]
    [InlineData("another certificate")]   // a TLS-terminating proxy shows the client its own certificate
    [InlineData("")]                      // the header alone, as if there were no binding
    public void Plus_WithAnotherBinding_FailsTheChannelBindingCheck(string seen)
    {
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart, EndPoint);
        Assert.True(server.TryHandleClientFirst(Plus, Utf8(Header + "n=,r=" + RfcClientNonce), out var serverFirst, out _));

        // The proof is right for what the client sent, so only the binding can fail it.
        var data = seen.Length == 0 ? [] : SHA256.HashData(Utf8(seen));
        var final = ClientFinal(Header, data, Text(serverFirst));
        Assert.False(server.TryHandleClientFinal(Utf8(final), out var serverFinal, out var error));
        Assert.Empty(serverFinal);
        Assert.Equal("SCRAM channel binding check failed", error);
        Assert.Equal(ScramFailure.ChannelBinding, server.Failure);
        Assert.Null(server.RecoveredClientKey);
    }

    [Fact]
    public void Plus_EchoingTheNoBindingHeader_Fails()
    {
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart, EndPoint);
        Assert.True(server.TryHandleClientFirst(Plus, Utf8(Header + "n=,r=" + RfcClientNonce), out var serverFirst, out _));
        var final = ClientFinal("n,,", [], Text(serverFirst));
        Assert.False(server.TryHandleClientFinal(Utf8(final), out _, out _));
        Assert.Equal(ScramFailure.ChannelBinding, server.Failure);
    }

    [Fact]
    public void YFlag_WhenPlusWasOffered_IsRefusedAsADowngrade()
    {
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart, EndPoint);
        Assert.False(server.TryHandleClientFirst(Plain, Utf8("y,,n=,r=" + RfcClientNonce), out var serverFirst, out var error));
        Assert.Empty(serverFirst);
        Assert.Equal("SCRAM channel binding negotiation error", error);
        Assert.Equal(ScramFailure.ChannelBinding, server.Failure);
        Assert.Contains("this server does support channel binding", server.ErrorDetail, StringComparison.Ordinal);
    }

    [Fact]
    public void YFlag_WithoutTls_IsAccepted()
    {
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart);
        Assert.False(server.OffersChannelBinding);
        Assert.True(server.TryHandleClientFirst(Plain, Utf8("y,,n=,r=" + RfcClientNonce), out _, out var error), error);
    }

    [Fact]
    public void NFlag_WhenPlusWasOffered_IsAcceptedWithoutBinding()
    {
        // channel_binding=disable: the client may decline to bind even over TLS.
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart, EndPoint);
        Assert.True(server.TryHandleClientFirst(Plain, Utf8("n,,n=,r=" + RfcClientNonce), out var serverFirst, out var error), error);
        var final = ClientFinal("n,,", [], Text(serverFirst));
        Assert.True(server.TryHandleClientFinal(Utf8(final), out _, out error), error);
        Assert.Equal(ClientKey(), server.RecoveredClientKey);
    }

    [Theory]
    [InlineData("n,,n=,r=" + RfcClientNonce)]
    [InlineData("y,,n=,r=" + RfcClientNonce)]
    public void PlusSelected_WithoutBindingData_IsMalformed(string clientFirst)
    {
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart, EndPoint);
        Assert.False(server.TryHandleClientFirst(Plus, Utf8(clientFirst), out _, out var error));
        Assert.Equal("malformed SCRAM message", error);
        Assert.Equal(ScramFailure.Malformed, server.Failure);
        Assert.Equal("The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data.", server.ErrorDetail);
    }

    [Fact]
    public void BindingData_WithTheMechanismWithoutPlus_IsMalformed()
    {
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart, EndPoint);
        Assert.False(server.TryHandleClientFirst(Plain, Utf8(Header + "n=,r=" + RfcClientNonce), out _, out var error));
        Assert.Equal("malformed SCRAM message", error);
        Assert.Equal(ScramFailure.Malformed, server.Failure);
        Assert.Contains("without channel binding, but the SCRAM message includes channel binding data", server.ErrorDetail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("p=tls-unique,,n=,r=abc", "unsupported SCRAM channel-binding type \"tls-unique\"")]
    [InlineData("p=tls-exporter,,n=,r=abc", "unsupported SCRAM channel-binding type \"tls-exporter\"")]
    [InlineData("p=,,n=,r=abc", "unsupported SCRAM channel-binding type \"\"")]
    [InlineData("p=tls-server-end-point", "malformed SCRAM client-first-message: invalid channel binding flag")]
    [InlineData("p=tls-server-end-point,", "malformed SCRAM client-first-message: invalid gs2 header")]
    [InlineData("p=tls-server-end-point,a=admin,n=,r=abc", "SCRAM authorization identity is not supported")]
    [InlineData("p=tls-server-end-point,,m=ext,n=,r=abc", "SCRAM mandatory extensions are not supported")]
    [InlineData("p=tls-server-end-point,,n=,r=", "malformed SCRAM client-first-message: missing or invalid nonce")]
    [InlineData("p=bad\u0001name,,n=,r=abc", "unsupported SCRAM channel-binding type \"bad?name\"")]
    public void Plus_MalformedGs2Headers_Fail(string clientFirst, string expected)
    {
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart, EndPoint);
        Assert.False(server.TryHandleClientFirst(Plus, Utf8(clientFirst), out var serverFirst, out var error));
        Assert.Empty(serverFirst);
        Assert.Equal(expected, error);
        Assert.Equal(ScramFailure.Malformed, server.Failure);
    }

    [Theory]
    [InlineData(Plus)]                 // -PLUS on a plain connection was never offered
    [InlineData("SCRAM-SHA-256-plus")]
    [InlineData("SCRAM-SHA-1")]
    [InlineData("")]
    public void UnofferedMechanisms_AreInvalid(string mechanism)
    {
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart);
        Assert.False(server.TryHandleClientFirst(mechanism, Utf8("n,,n=,r=" + RfcClientNonce), out _, out var error));
        Assert.Equal("client selected an invalid SASL authentication mechanism", error);
        Assert.Equal(ScramFailure.Malformed, server.Failure);
        Assert.Throws<InvalidOperationException>(() => server.TryHandleClientFinal(Utf8(RfcClientFinal), out _, out _));
    }

    [Fact]
    public void WrongProof_WithTheRightBinding_IsAnAuthenticationFailure()
    {
        var server = new ScramServerExchange(RfcSecret(), RfcServerNoncePart, EndPoint);
        Assert.True(server.TryHandleClientFirst(Plus, Utf8(Header + "n=,r=" + RfcClientNonce), out var serverFirst, out _));
        var final = ClientFinal(Header, EndPoint, Text(serverFirst), password: "not-pencil");
        Assert.False(server.TryHandleClientFinal(Utf8(final), out _, out var error));
        Assert.Equal("SCRAM proof is invalid", error);
        Assert.Equal(ScramFailure.Authentication, server.Failure);
    }

    [Fact]
    public void MockSecret_WithTheRightBinding_StillFailsAsAPasswordError()
    {
        var server = new ScramServerExchange(ScramSecret.CreateMock("nobody", RfcIterations), RfcServerNoncePart, EndPoint);
        Assert.True(server.TryHandleClientFirst(Plus, Utf8(Header + "n=,r=" + RfcClientNonce), out var serverFirst, out _));
        var (_, salt, iterations) = ParseServerFirst(Text(serverFirst));
        Assert.False(server.TryHandleClientFinal(Utf8(ClientFinal(Header, EndPoint, Text(serverFirst), salt, iterations)), out _, out _));
        Assert.Equal(ScramFailure.Authentication, server.Failure);
    }

    private static byte[] ClientKey(string password = RfcPassword, byte[]? salt = null, int iterations = RfcIterations)
    {
        var salted = Rfc2898DeriveBytes.Pbkdf2(Utf8(password), salt ?? Convert.FromBase64String(RfcSalt), iterations, HashAlgorithmName.SHA256, 32);
        return HMACSHA256.HashData(salted, "Client Key"u8);
    }

    /// <summary>What a SCRAM-SHA-256(-PLUS) client sends: c=base64(header + binding data), the nonce and a proof over all of it.</summary>
    private static string ClientFinal(string header, byte[] bindingData, string serverFirst, byte[]? salt = null, int iterations = RfcIterations, string password = RfcPassword)
    {
        var (nonce, _, _) = ParseServerFirst(serverFirst);
        var withoutProof = $"c={Convert.ToBase64String([.. Utf8(header), .. bindingData])},r={nonce}";
        var clientKey = ClientKey(password, salt, iterations);
        var authMessage = Utf8("n=,r=" + RfcClientNonce + "," + serverFirst + "," + withoutProof);
        var signature = HMACSHA256.HashData(SHA256.HashData(clientKey), authMessage);
        var proof = new byte[32];
        for (var i = 0; i < proof.Length; i++)
        {
            proof[i] = (byte)(clientKey[i] ^ signature[i]);
        }
        return withoutProof + ",p=" + Convert.ToBase64String(proof);
    }

    private static (string Nonce, byte[] Salt, int Iterations) ParseServerFirst(string serverFirst)
    {
        var parts = serverFirst.Split(',');
        return (parts[0][2..], Convert.FromBase64String(parts[1][2..]), int.Parse(parts[2][2..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
