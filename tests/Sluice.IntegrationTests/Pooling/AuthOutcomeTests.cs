using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>
/// Refused logins as PgBouncer words them, to the client and in the log ("closing because: …", written before the
/// client can read the error): unknown users per auth_type with and without a forced user, unknown databases,
/// and server logins that fail.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AuthOutcomeTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    private const string Forced = "forced";

    /// <summary>appdb as is, and "forced" with the forced user app: an unknown client user fails the same on both.</summary>
    private Task<TestPooler> StartAsync(string authType, Action<IniBuilder>? configure = null) =>
        TestPooler.StartAsync(Pg, output, ini =>
        {
            ini.Setting("auth_type", authType)
                .Database(Forced, Pg.LibpqConnectString(PostgresInstance.AppDatabase, $"user={PostgresInstance.AppUser} password={PostgresInstance.AppPassword}"));
            configure?.Invoke(ini);
        });

    [Theory]
    [InlineData("trust", "28000", "\"trust\" authentication failed")]
    [InlineData("plain", "28P01", "password authentication failed for user \"nosuchuser\"")]
    [InlineData("md5", "28P01", "password authentication failed for user \"nosuchuser\"")]
    [InlineData("scram-sha-256", "28P01", "SASL authentication failed")]
    public async Task UnknownUser_IsRefusedInPgBouncerWords_WithOrWithoutForcedUser(string authType, string sqlState, string message)
    {
        await using var host = await StartAsync(authType);
        foreach (var database in new[] { PostgresInstance.AppDatabase, Forced })
        {
            var ex = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync("nosuchuser", "whatever", database));
            Assert.Equal(sqlState, ex.SqlState);
            Assert.Equal(message, ex.MessageText);
            AssertLogged(host, $"{database}/nosuchuser@", "closing because: " + message);
        }
    }

    [Fact]
    public async Task WrongScramProof_IsSaslAuthenticationFailed()
    {
        await using var host = await StartAsync("scram-sha-256");
        var ex = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync(PostgresInstance.ScramUser, "not-the-password"));
        Assert.Equal("28P01", ex.SqlState);
        Assert.Equal("SASL authentication failed", ex.MessageText);

        await using var ok = await host.OpenAsync(PostgresInstance.ScramUser, PostgresInstance.ScramPassword);
        Assert.Equal(1, await ok.ScalarAsync<int>("SELECT 1"));
    }

    [Theory]
    [InlineData("trust")]
    [InlineData("md5")]
    [InlineData("scram-sha-256")]
    public async Task UnknownDatabase_AuthenticatesFirst_ThenNoSuchDatabase_Logged(string authType)
    {
        await using var host = await StartAsync(authType);

        var ex = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync(database: "nosuchdb"));
        Assert.Equal("3D000", ex.SqlState);
        Assert.Equal("no such database: nosuchdb", ex.MessageText);
        AssertLogged(host, "nosuchdb/app@", "closing because: no such database: nosuchdb");

        if (authType != "trust")
        {
            // The password is checked before the database: a wrong one does not learn whether the database exists.
            var wrong = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync(password: "wrong", database: "nosuchdb"));
            Assert.Equal("28P01", wrong.SqlState);
            Assert.DoesNotContain("database", wrong.MessageText, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ServerRefusesTheDatabase_LoggedAsServerLoginFailed_ClientClosingWithTheServerText()
    {
        await using var host = await StartAsync("md5", ini => ini.Database("gone", Pg.LibpqConnectString("no_such_pg_database")));

        var ex = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync(database: "gone", tweak: OneAttempt));
        Assert.Equal("3D000", ex.SqlState);
        const string text = "database \"no_such_pg_database\" does not exist";
        Assert.Equal(text, ex.MessageText);
        AssertLogged(host, "gone/app", "server login failed: FATAL " + text);
        AssertLogged(host, "gone/app@", "closing because: " + text);
    }

    [Fact]
    public async Task ServerNeedsScramKeysTheClientDidNotGive_WrongPasswordType()
    {
        // The forced user's secret is a SCRAM verifier, and trust gave no client proof to log in with.
        var secret = (await Pg.GetScramSecretAsync(PostgresInstance.ScramUser))!;
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("auth_type", "trust")
                .Database("scramforced", Pg.LibpqConnectString(PostgresInstance.AppDatabase, $"user={PostgresInstance.ScramUser}")),
            users: [(PostgresInstance.AppUser, PostgresInstance.AppPassword), (PostgresInstance.ScramUser, secret)]);

        var ex = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync(database: "scramforced", tweak: OneAttempt));
        Assert.Equal("server login failed: wrong password type", ex.MessageText);
        AssertLogged(host, "scramforced/scramuser", "password is SCRAM secret but client authentication did not provide SCRAM keys");
    }

    /// <summary>Npgsql retries a failed login without GSS encryption; the retry would meet the cached error.</summary>
    private static void OneAttempt(NpgsqlConnectionStringBuilder b) => b.GssEncryptionMode = GssEncryptionMode.Disable;

    private static void AssertLogged(TestPooler host, string peer, string text) =>
        Assert.True(host.LogLines.Any(line => line.Contains(peer, StringComparison.Ordinal) && line.Contains(text, StringComparison.Ordinal)),
            $"no log line with \"{peer}\" and \"{text}\"\n{host.LogTail()}");
}
