using System.Diagnostics;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>Client authentication (auth_type × auth_file secret kinds), login errors and server login failures.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ClientLoginTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    private static string PasswordOf(string user) => user switch
    {
        PostgresInstance.ScramUser => PostgresInstance.ScramPassword,
        PostgresInstance.Md5User => PostgresInstance.Md5Password,
        PostgresInstance.AppUser => PostgresInstance.AppPassword,
        _ => throw new ArgumentOutOfRangeException(nameof(user)),
    };

    private async Task<string> SecretAsync(string kind, string user) => kind switch
    {
        "plain" => PasswordOf(user),
        "md5" => TempFiles.Md5Secret(user, PasswordOf(user)),
        "scram" => (await Pg.GetScramSecretAsync(user))!,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>
    /// (auth_type, kind of secret in auth_file, user). Only combinations that PgBouncer can serve end to end: the
    /// secret must verify the client's proof, and the pooler must then be able to log in to PostgreSQL (a SCRAM
    /// secret only via SCRAM pass-through, i.e. when the client itself used SCRAM).
    /// </summary>
    public static TheoryData<string, string, string> Matrix => new()
    {
        { "md5", "plain", PostgresInstance.ScramUser },
        { "md5", "plain", PostgresInstance.Md5User },
        { "md5", "md5", PostgresInstance.Md5User },
        { "md5", "scram", PostgresInstance.ScramUser },
        { "scram-sha-256", "plain", PostgresInstance.ScramUser },
        { "scram-sha-256", "plain", PostgresInstance.Md5User },
        { "scram-sha-256", "scram", PostgresInstance.ScramUser },
        { "plain", "plain", PostgresInstance.ScramUser },
        { "plain", "md5", PostgresInstance.Md5User },
        { "trust", "plain", PostgresInstance.ScramUser },
        { "trust", "md5", PostgresInstance.Md5User },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task AuthType_WithSecretKind_LogsIn_AndRejectsWrongPassword(string authType, string secretKind, string user)
    {
        var secret = await SecretAsync(secretKind, user);
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("auth_type", authType),
            users: [(user, secret)]);

        await using (var conn = await host.OpenAsync(user, PasswordOf(user)))
        {
            Assert.Equal(user, await conn.ScalarAsync<string>("SELECT current_user::text"));
            Assert.Equal(3, await conn.ScalarAsync<int>("SELECT $1::int", 3));
        }

        if (authType == "trust")
        {
            // trust: any password (or none) is accepted for a user listed in auth_file.
            await using var any = await host.OpenAsync(user, "whatever");
            Assert.Equal(user, await any.ScalarAsync<string>("SELECT current_user::text"));
            return;
        }

        var ex = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync(user, "wrong-password"));
        Assert.Equal("28P01", ex.SqlState);

        // A failed login does not disturb the next good one.
        await using var again = await host.OpenAsync(user, PasswordOf(user));
        Assert.Equal(1, await again.ScalarAsync<int>("SELECT 1"));
    }

    [Theory]
    [InlineData("md5")]
    [InlineData("scram-sha-256")]
    [InlineData("plain")]
    public async Task UnknownUser_Gets28P01(string authType)
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("auth_type", authType));
        var ex = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync("nosuchuser", "somepassword"));
        Assert.Equal("28P01", ex.SqlState);
    }

    // With SCRAM the error follows the client's proof directly: SASLFinal travels with the welcome, which never comes.
    [Theory]
    [InlineData("md5")]
    [InlineData("scram-sha-256")]
    public async Task UnknownDatabase_Gets3D000_NoSuchDatabase(string authType)
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("auth_type", authType));
        var ex = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync(database: "nosuchdb"));
        Assert.Equal("3D000", ex.SqlState);
        Assert.Contains("no such database", ex.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxClientConn_ThirdClientGets53300()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("max_client_conn", 2));
        await using var a = await host.OpenAsync();
        await using var b = await host.OpenAsync();
        var ex = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync());
        Assert.Equal("53300", ex.SqlState);
        Assert.Contains("max_client_conn", ex.MessageText, StringComparison.Ordinal);

        // The two admitted clients still work, and a slot frees up when one leaves.
        Assert.Equal(1, await a.ScalarAsync<int>("SELECT 1"));
        await b.DisposeAsync();
        var deadline = Stopwatch.StartNew();
        while (host.Pooler.ClientCount > 1 && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(20);
        }
        await using var c = await host.OpenAsync();
        Assert.Equal(2, await c.ScalarAsync<int>("SELECT 2"));
    }

    [Fact]
    public async Task UnreachableServer_ClientWaitsForQueryWaitTimeout_NotForever()
    {
        // As in PgBouncer, a refused TCP connect leaves the client waiting for the next attempt
        // (server_login_retry); query_wait_timeout bounds the wait.
        var closedPort = TempFiles.GetFreeTcpPort();
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Database("deadhost", $"host=127.0.0.1 port={closedPort} dbname=appdb").Setting("query_wait_timeout", "2"));
        var sw = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAnyAsync<NpgsqlException>(async () =>
        {
            // One attempt: Npgsql's retry without GSS encryption would get the cached error instead.
            await using var conn = await host.OpenAsync(database: "deadhost", tweak: b =>
            {
                b.Timeout = 30;
                b.GssEncryptionMode = GssEncryptionMode.Disable;
            });
            await conn.ScalarAsync<int>("SELECT 1");
        });
        output.WriteLine($"error after {sw.Elapsed.TotalSeconds:F2}s: {ex.GetType().Name}: {ex.Message}");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"the client waited {sw.Elapsed} for an unreachable server\n{host.LogTail()}");
        Assert.IsNotType<TimeoutException>(ex.InnerException);
        Assert.Contains("query_wait_timeout", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerLoginFailure_RelaysPostgres28P01()
    {
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Database("badlogin", Pg.LibpqConnectString(PostgresInstance.AppDatabase, "user=scramuser password=notthepassword")));
        var sw = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var conn = await host.OpenAsync(database: "badlogin");
            await conn.ScalarAsync<int>("SELECT 1");
        });
        Assert.Equal("28P01", ex.SqlState);
        Assert.Contains("password authentication failed", ex.MessageText, StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task ForcedUser_WithCorrectPassword_RunsAsThatUser()
    {
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Database("forced", Pg.LibpqConnectString(PostgresInstance.AppDatabase, $"user={PostgresInstance.ScramUser} password={PostgresInstance.ScramPassword}")));
        await using var conn = await host.OpenAsync(database: "forced");
        Assert.Equal(PostgresInstance.ScramUser, await conn.ScalarAsync<string>("SELECT current_user::text"));
    }

    [Theory]
    [InlineData("scram-sha-256")]
    [InlineData("md5")]
    public async Task ScramPassThrough_WithRealScramSecret(string authType)
    {
        var secret = await Pg.GetScramSecretAsync(PostgresInstance.ScramUser);
        Assert.StartsWith("SCRAM-SHA-256$", secret);
        await using var host = await TestPooler.StartAsync(Pg, output,
            ini => ini.Setting("auth_type", authType).Setting("default_pool_size", 1).Setting("pool_mode", "session"),
            users: [(PostgresInstance.ScramUser, secret!)]);

        int firstPid;
        await using (var conn = await host.OpenAsync(PostgresInstance.ScramUser, PostgresInstance.ScramPassword))
        {
            Assert.Equal(PostgresInstance.ScramUser, await conn.ScalarAsync<string>("SELECT current_user::text"));
            firstPid = await conn.ScalarAsync<int>("SELECT pg_backend_pid()");
            Assert.Equal(42, await conn.ScalarAsync<int>("SELECT $1::int", 42));
        }

        // Force a fresh server login with the recovered keys.
        await Pg.TerminateBackendsAsync(PostgresInstance.ScramUser, PostgresInstance.AppDatabase);
        await Task.Delay(200);
        for (var i = 0; i < 3; i++)
        {
            await using var conn = await host.OpenAsync(PostgresInstance.ScramUser, PostgresInstance.ScramPassword);
            Assert.Equal(PostgresInstance.ScramUser, await conn.ScalarAsync<string>("SELECT current_user::text"));
            Assert.NotEqual(firstPid, await conn.ScalarAsync<int>("SELECT pg_backend_pid()"));
        }

        var ex = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync(PostgresInstance.ScramUser, "wrong"));
        Assert.Equal("28P01", ex.SqlState);
    }
}
