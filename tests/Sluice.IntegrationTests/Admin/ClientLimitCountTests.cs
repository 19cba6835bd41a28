using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Admin;

/// <summary>
/// max_db_client_connections / max_user_client_connections as PgBouncer 1.25 counts them: by login user (not the
/// forced one), the console included, admin_users never refused, and a failed login leaves no count behind.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ClientLimitCountTests(PostgresFixture fixture)
{
    private const string ForcedDatabase = "forced";

    [Fact]
    public async Task ShowUsers_CountsTheLoginUser_NotTheForcedServerUser()
    {
        await using var host = await TestPooler.StartConsoleAsync(fixture.Postgres, ini => ini
            .Database(ForcedDatabase, fixture.Postgres.LibpqConnectString(PostgresInstance.AppDatabase,
                $"user={PostgresInstance.AppUser} password={PostgresInstance.AppPassword}"))
            .User(TestUsers.Other, "max_user_client_connections=2"));
        await using var client = await RawPgClient.LoginOkAsync(host.Port, TestUsers.Other, ForcedDatabase, TestUsers.OtherPassword);

        var users = (await host.ConsoleAsync("SHOW USERS")).Records();
        var other = users.Single(u => u["name"] == TestUsers.Other);
        Assert.Equal("1", other["current_client_connections"]);
        Assert.Equal("2", other["max_user_client_connections"]);
        Assert.Equal("0", users.Single(u => u["name"] == PostgresInstance.AppUser)["current_client_connections"]);
        var db = (await host.ConsoleAsync("SHOW DATABASES")).Records().Single(d => d["name"] == ForcedDatabase);
        Assert.Equal("1", db["current_client_connections"]);
    }

    [Fact]
    public async Task Console_CountsAgainstMaxDbClientConnections_AdminUsersAreNeverRefused()
    {
        await using var host = await TestPooler.StartConsoleAsync(fixture.Postgres, ini => ini.Setting("max_db_client_connections", 1));
        await using var stats = await RawPgClient.LoginOkAsync(host.Port, TestUsers.Stats, "pgbouncer", TestUsers.StatsPassword);

        var refused = await Assert.ThrowsAsync<RawPgException>(() =>
            RawPgClient.LoginOkAsync(host.Port, TestUsers.Stats, "pgbouncer", TestUsers.StatsPassword));
        Assert.Equal("08P01", refused.SqlState);
        Assert.Contains("client connections exceeded (max_db_client_connections)", refused.Message);

        // The admin's own psql is the second console client: over the limit, but let in.
        var result = await host.ConsoleAsync("SHOW DATABASES");
        Assert.True(result.Success, result.ToString());
        var console = result.Records().Single(d => d["name"] == "pgbouncer");
        Assert.Equal("1", console["max_client_connections"]);
        Assert.Equal("2", console["current_client_connections"]);
    }

    [Fact]
    public async Task Console_CountsAgainstMaxUserClientConnections_OfAStatsUser()
    {
        await using var host = await TestPooler.StartConsoleAsync(fixture.Postgres, ini => ini.Setting("max_user_client_connections", 1));
        await using var stats = await RawPgClient.LoginOkAsync(host.Port, TestUsers.Stats, "pgbouncer", TestUsers.StatsPassword);

        var refused = await Assert.ThrowsAsync<RawPgException>(() =>
            RawPgClient.LoginOkAsync(host.Port, TestUsers.Stats, "pgbouncer", TestUsers.StatsPassword));
        Assert.Contains("client connections exceeded (max_user_client_connections)", refused.Message);

        var users = (await host.ConsoleAsync("SHOW USERS")).Records();
        Assert.Equal("1", users.Single(u => u["name"] == TestUsers.Stats)["current_client_connections"]);
        Assert.Equal("1", users.Single(u => u["name"] == TestUsers.Admin)["current_client_connections"]);
    }

    [Fact]
    public async Task ClientRefusedByItsFirstServer_LeavesNoCountBehind()
    {
        const string missing = "gone";
        await using var host = await TestPooler.StartConsoleAsync(fixture.Postgres, ini => ini
            .Database(missing, fixture.Postgres.LibpqConnectString("no_such_database_here")));

        await Assert.ThrowsAsync<RawPgException>(() =>
            RawPgClient.LoginOkAsync(host.Port, PostgresInstance.AppUser, missing, PostgresInstance.AppPassword));

        var users = (await host.ConsoleAsync("SHOW USERS")).Records();
        Assert.Equal("0", users.Single(u => u["name"] == PostgresInstance.AppUser)["current_client_connections"]);
        var db = (await host.ConsoleAsync("SHOW DATABASES")).Records().Single(d => d["name"] == missing);
        Assert.Equal("0", db["current_client_connections"]);
        var pool = (await host.ConsoleAsync("SHOW POOLS")).Records().Single(p => p["database"] == missing);
        Assert.Equal("0", pool["cl_active"]);
    }
}
