using System.Security.Cryptography;
using static Sluice.Auth.ScramTestVectors;

namespace Sluice.Auth;

public sealed class ScramClientExchangeTests
{
    [Fact]
    public void ReproducesRfc7677Exchange()
    {
        var client = ScramClientExchange.ForPassword(RfcPassword, RfcUser, RfcClientNonce);

        Assert.Equal(RfcClientFirst, Text(client.CreateClientFirst()));
        Assert.True(client.TryHandleServerFirst(Utf8(RfcServerFirst), out var clientFinal, out var error), error);
        Assert.Equal(RfcClientFinal, Text(clientFinal));
        Assert.True(client.VerifyServerFinal(Utf8(RfcServerFinal), out error), error);
        Assert.Null(error);
    }

    [Fact]
    public void ClientFirstHasEmptyUserAndFreshNonce()
    {
        var first = Text(ScramClientExchange.ForPassword("x").CreateClientFirst());
        var second = Text(ScramClientExchange.ForPassword("x").CreateClientFirst());
        Assert.StartsWith("n,,n=,r=", first, StringComparison.Ordinal);
        Assert.Equal(8 + 24, first.Length);
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void WrongServerSignatureFails()
    {
        var client = RfcClientAfterServerFirst();
        var signature = Convert.FromBase64String(RfcServerFinal[2..]);
        signature[0] ^= 0x80;
        Assert.False(client.VerifyServerFinal(Utf8("v=" + Convert.ToBase64String(signature)), out var error));
        Assert.Equal("SCRAM server signature is invalid", error);
    }

    [Fact]
    public void ServerErrorIsReported()
    {
        var client = RfcClientAfterServerFirst();
        Assert.False(client.VerifyServerFinal(Utf8("e=invalid-proof"), out var error));
        Assert.Equal("SCRAM server error: invalid-proof", error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("v=")]
    [InlineData("v=***")]
    [InlineData("x=abc")]
    public void MalformedServerFinalFails(string message)
    {
        var client = RfcClientAfterServerFirst();
        Assert.False(client.VerifyServerFinal(Utf8(message), out var error));
        Assert.NotNull(error);
    }

    [Theory]
    [InlineData("", "malformed SCRAM server-first-message")]
    [InlineData("m=ext,r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "SCRAM server requires an unsupported mandatory extension")]
    [InlineData("r=somebodyElse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "SCRAM server nonce does not extend the client nonce")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "SCRAM server nonce does not extend the client nonce")]
    [InlineData("s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "malformed SCRAM server-first-message: missing or invalid nonce")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOabc,i=4096", "malformed SCRAM server-first-message: missing or invalid salt")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOabc,s=,i=4096", "malformed SCRAM server-first-message: missing or invalid salt")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==", "malformed SCRAM server-first-message: missing or invalid iteration count")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", "malformed SCRAM server-first-message: missing or invalid iteration count")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-5", "malformed SCRAM server-first-message: missing or invalid iteration count")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999", "malformed SCRAM server-first-message: missing or invalid iteration count")]
    public void MalformedServerFirstFailsWithError(string message, string expected)
    {
        var client = ScramClientExchange.ForPassword(RfcPassword, RfcUser, RfcClientNonce);
        client.CreateClientFirst();
        Assert.False(client.TryHandleServerFirst(Utf8(message), out var clientFinal, out var error));
        Assert.Empty(clientFinal);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void PassThroughAuthenticatesAgainstSecondServerWithSameSecret()
    {
        var secret = ScramSecret.FromPassword("app password", RandomNumberGenerator.GetBytes(16), 4096);
        var clientKey = AuthenticateClientToPooler(secret, "app password");

        // The pooler now logs in to "PostgreSQL" holding the same secret, without knowing the password.
        var postgres = new ScramServerExchange(secret);
        var pooler = ScramClientExchange.ForPassThrough(clientKey, secret);
        Assert.True(postgres.TryHandleClientFirst(pooler.CreateClientFirst(), out var serverFirst, out var error), error);
        Assert.True(pooler.TryHandleServerFirst(serverFirst, out var clientFinal, out error), error);
        Assert.True(postgres.TryHandleClientFinal(clientFinal, out var serverFinal, out error), error);
        Assert.True(pooler.VerifyServerFinal(serverFinal, out error), error);
    }

    [Fact]
    public void PassThroughWorksWithPostgresGeneratedSecret()
    {
        var secret = Assert.IsType<ScramSecret>(PasswordSecret.Parse(PostgresScramSecret));
        var clientKey = AuthenticateClientToPooler(secret, PostgresSecretPassword);
        var postgres = new ScramServerExchange(secret);
        var pooler = ScramClientExchange.ForPassThrough(clientKey, secret);
        Assert.True(postgres.TryHandleClientFirst(pooler.CreateClientFirst(), out var serverFirst, out _));
        Assert.True(pooler.TryHandleServerFirst(serverFirst, out var clientFinal, out _));
        Assert.True(postgres.TryHandleClientFinal(clientFinal, out var serverFinal, out var error), error);
        Assert.True(pooler.VerifyServerFinal(serverFinal, out error), error);
    }

    [Fact]
    public void PassThroughFailsWhenServerSaltDiffers()
    {
        var poolerSecret = ScramSecret.FromPassword("app password", RandomNumberGenerator.GetBytes(16), 4096);
        var clientKey = AuthenticateClientToPooler(poolerSecret, "app password");

        // Same password, but PostgreSQL's secret was created with another salt.
        var postgresSecret = ScramSecret.FromPassword("app password", RandomNumberGenerator.GetBytes(16), 4096);
        var postgres = new ScramServerExchange(postgresSecret);
        var pooler = ScramClientExchange.ForPassThrough(clientKey, poolerSecret);
        Assert.True(postgres.TryHandleClientFirst(pooler.CreateClientFirst(), out var serverFirst, out _));
        Assert.False(pooler.TryHandleServerFirst(serverFirst, out var clientFinal, out var error));
        Assert.Empty(clientFinal);
        Assert.Contains("pass-through", error, StringComparison.Ordinal);
    }

    [Fact]
    public void PassThroughFailsWhenIterationsDiffer()
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var poolerSecret = ScramSecret.FromPassword("pw", salt, 4096);
        var clientKey = AuthenticateClientToPooler(poolerSecret, "pw");
        var postgres = new ScramServerExchange(ScramSecret.FromPassword("pw", salt, 8192));
        var pooler = ScramClientExchange.ForPassThrough(clientKey, poolerSecret);
        Assert.True(postgres.TryHandleClientFirst(pooler.CreateClientFirst(), out var serverFirst, out _));
        Assert.False(pooler.TryHandleServerFirst(serverFirst, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void PassThroughRejectsWrongKeyLength() =>
        Assert.Throws<ArgumentException>(() => ScramClientExchange.ForPassThrough(new byte[16], RfcSecret()));

    [Fact]
    public void StepsOutOfOrderThrow()
    {
        var client = ScramClientExchange.ForPassword("x");
        Assert.Throws<InvalidOperationException>(() => client.TryHandleServerFirst(Utf8(RfcServerFirst), out _, out _));
        Assert.Throws<InvalidOperationException>(() => client.VerifyServerFinal(Utf8(RfcServerFinal), out _));
        client.CreateClientFirst();
        Assert.Throws<InvalidOperationException>(() => client.CreateClientFirst());
    }

    private static ScramClientExchange RfcClientAfterServerFirst()
    {
        var client = ScramClientExchange.ForPassword(RfcPassword, RfcUser, RfcClientNonce);
        client.CreateClientFirst();
        Assert.True(client.TryHandleServerFirst(Utf8(RfcServerFirst), out _, out _));
        return client;
    }

    /// <summary>Runs a client → pooler SCRAM login and returns the ClientKey the pooler recovered.</summary>
    private static byte[] AuthenticateClientToPooler(ScramSecret secret, string password)
    {
        var app = ScramClientExchange.ForPassword(password);
        var pooler = new ScramServerExchange(secret);
        Assert.True(pooler.TryHandleClientFirst(app.CreateClientFirst(), out var serverFirst, out _));
        Assert.True(app.TryHandleServerFirst(serverFirst, out var clientFinal, out _));
        Assert.True(pooler.TryHandleClientFinal(clientFinal, out var serverFinal, out var error), error);
        Assert.True(app.VerifyServerFinal(serverFinal, out _));
        return pooler.RecoveredClientKey!;
    }
}
