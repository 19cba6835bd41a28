using System.Globalization;
using System.Security.Cryptography;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>
/// Users missing from auth_file, as PgBouncer treats them: auth_user + auth_query look them up (under every
/// auth_type but any, forced user or not), auth_dbname says where, and each way the lookup can go wrong ends the
/// login with the text PgBouncer's clients and operators see.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AuthQueryLookupTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    /// <summary>PostgreSQL over its Unix socket, where every role is trusted: no password is needed to log in.</summary>
    private string TrustedDatabase(string database, string? extra = null) =>
        $"host={Pg.SocketDir} port={Pg.Port.ToString(CultureInfo.InvariantCulture)} dbname={database}" + (extra is null ? "" : " " + extra);

    private static string RandomName(string prefix) => prefix + "_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();

    [Fact]
    public async Task Trust_UserOnlyInPostgres_WithoutPassword_LogsInThroughAuthQuery()
    {
        // PgBouncer issue #1116: a role with no password (NULL in pg_authid) is still a user that trust admits.
        var role = RandomName("nopw");
        await Pg.ExecuteAsync($"CREATE ROLE {role} LOGIN");
        try
        {
            await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
                .Setting("auth_type", "trust")
                .Setting("auth_user", "postgres")
                .Database("trusted", TrustedDatabase("postgres")));

            await using var client = await host.LoginOkAsync(role, null, "trusted");
            var r = await client.QueryAsync("SELECT current_user");
            Assert.Null(r.Error);
            Assert.Equal(role, r.FirstValue);
        }
        finally
        {
            await Pg.TerminateBackendsAsync(role);
            await Pg.ExecuteAsync($"DROP ROLE IF EXISTS {role}");
        }
    }

    [Fact]
    public async Task UserUnknownToPostgresToo_IsToldNoSuchUser_BeforeAnyPasswordExchange()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("auth_user", "postgres")
            .Database("trusted", TrustedDatabase("postgres")));

        // No password given: a mock md5 exchange would fail with "server asked for authentication" instead.
        var e = await Assert.ThrowsAsync<RawPgException>(() => host.LoginOkAsync(RandomName("ghost"), null, "trusted"));
        Assert.Equal("no such user", e.Fields['M']);
    }

    [Fact]
    public async Task ForcedUserDatabase_UnknownUser_IsLookedUpAndRefused()
    {
        // Under trust a forced user does not vouch for the client's own name (PgBouncer issue #1103).
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("auth_type", "trust")
            .Setting("auth_user", "postgres")
            .Database("forced", TrustedDatabase("postgres", "user=postgres")));

        var e = await Assert.ThrowsAsync<RawPgException>(() => host.LoginOkAsync(RandomName("ghost"), null, "forced"));
        Assert.Equal("no such user", e.Fields['M']);
    }

    [Fact]
    public async Task Trust_UnknownUser_WithoutAuthUser_FailsTrustAuthentication_EvenWithForcedUser()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("auth_type", "trust")
            .Database("forced", TrustedDatabase("postgres", "user=postgres")));

        foreach (var database in new[] { "forced", "postgres" })
        {
            var e = await Assert.ThrowsAsync<RawPgException>(() => host.LoginOkAsync(RandomName("ghost"), null, database));
            Assert.Equal("\"trust\" authentication failed", e.Fields['M']);
        }
    }

    [Fact]
    public async Task AuthDbName_NotConfigured_IsBouncerConfigError_AndLogged()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("auth_user", "postgres")
            .Database("trusted", TrustedDatabase("postgres", "auth_dbname=nowhere")));

        var e = await Assert.ThrowsAsync<RawPgException>(() => host.LoginOkAsync(RandomName("ghost"), "x", "trusted"));
        Assert.Equal("bouncer config error", e.Fields['M']);
        Assert.Contains(host.LogLines, l => l.Contains("authentication database \"nowhere\" is not configured.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AuthDbName_Disabled_IsNamedToTheClient()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("auth_user", "postgres")
            .Database("authdb", TrustedDatabase("postgres"))
            .Database("trusted", TrustedDatabase("postgres", "auth_dbname=authdb")));
        host.Pooler.Disable("authdb");

        var e = await Assert.ThrowsAsync<RawPgException>(() => host.LoginOkAsync(RandomName("ghost"), "x", "trusted"));
        Assert.Equal("authentication database \"authdb\" is disabled", e.Fields['M']);
    }

    [Fact]
    public async Task AuthDbName_AdminConsole_IsBouncerConfigError_AndLogged()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("auth_user", "postgres")
            .Database("trusted", TrustedDatabase("postgres", "auth_dbname=pgbouncer")));

        var e = await Assert.ThrowsAsync<RawPgException>(() => host.LoginOkAsync(RandomName("ghost"), "x", "trusted"));
        Assert.Equal("bouncer config error", e.Fields['M']);
        Assert.Contains(host.LogLines, l => l.Contains("cannot use the reserved \"pgbouncer\" database as an auth_dbname", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AuthQueryError_IsBouncerConfigError_AndTheServerMessageIsLogged()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("auth_user", "postgres")
            .Database("trusted", TrustedDatabase("postgres", "auth_query='SELECT usename, passwd FROM no_such_table WHERE usename = $1'")));

        var e = await Assert.ThrowsAsync<RawPgException>(() => host.LoginOkAsync(RandomName("ghost"), "x", "trusted"));
        Assert.Equal("bouncer config error", e.Fields['M']);
        Assert.Contains(host.LogLines, l => l.Contains("\"no_such_table\" does not exist", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("SELECT usename FROM pg_shadow WHERE usename = $1")]
    [InlineData("SELECT NULL::text, passwd FROM pg_shadow WHERE usename = $1")]
    public async Task AuthQueryRowNotNameAndSecret_IsBouncerConfigError_EvenUnderTrust(string query)
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("auth_type", "trust")
            .Setting("auth_user", "postgres")
            .Database("trusted", TrustedDatabase("postgres", $"auth_query='{query}'")));

        var e = await Assert.ThrowsAsync<RawPgException>(() => host.LoginOkAsync("postgres", null, "trusted"));
        Assert.Equal("bouncer config error", e.Fields['M']);
    }

    [Fact]
    public async Task AuthPoolLoginFailure_IsPassedOnToTheClient()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("auth_user", "postgres")
            .Database("missing", TrustedDatabase("no_such_database")));

        var e = await Assert.ThrowsAsync<RawPgException>(() => host.LoginOkAsync(RandomName("ghost"), "x", "missing"));
        Assert.Equal("3D000", e.SqlState);
        Assert.Contains("\"no_such_database\" does not exist", e.Fields['M'], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminConsole_UserMissingFromAuthFile_IsLookedUpInTheGlobalAuthDbName()
    {
        // md5user's pg_authid secret is an md5 hash, which the md5 exchange below verifies.
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("auth_user", "postgres")
            .Setting("auth_dbname", "trusted")
            .Setting("stats_users", PostgresInstance.Md5User)
            .Database("trusted", TrustedDatabase("postgres")),
            users: [(PostgresInstance.AppUser, PostgresInstance.AppPassword)]);

        await using (var admin = await host.LoginOkAsync(PostgresInstance.Md5User, PostgresInstance.Md5Password, "pgbouncer"))
        {
            var r = await admin.QueryAsync("SHOW VERSION");
            Assert.Null(r.Error);
        }
        var wrong = await Assert.ThrowsAsync<RawPgException>(() => host.LoginOkAsync(PostgresInstance.Md5User, "wrong", "pgbouncer"));
        Assert.Equal("28P01", wrong.SqlState);
    }

    [Fact]
    public async Task AdminConsole_WithoutAuthDbName_CannotLookUsersUpInItself()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("auth_user", "postgres")
            .Setting("stats_users", PostgresInstance.Md5User),
            users: [(PostgresInstance.AppUser, PostgresInstance.AppPassword)]);

        var e = await Assert.ThrowsAsync<RawPgException>(() => host.LoginOkAsync(PostgresInstance.Md5User, PostgresInstance.Md5Password, "pgbouncer"));
        Assert.Equal("bouncer config error", e.Fields['M']);
        Assert.Contains(host.LogLines, l => l.Contains("cannot use the reserved \"pgbouncer\" database as an auth_dbname", StringComparison.Ordinal));
    }
}
