using Npgsql;
using Sluice.Testing;

namespace Sluice.IntegrationTests.Infrastructure;

[Collection(PostgresCollection.Name)]
public sealed class PostgresFixtureTests
{
    private readonly PostgresFixture _fixture;

    public PostgresFixtureTests(PostgresFixture fixture) => _fixture = fixture;

    private static async Task<int> SelectOneAsync(string connectionString)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT 1", conn);
        return (int)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task ScramUser_CanConnectOverTcp()
    {
        var pg = _fixture.Postgres;
        Assert.Equal(1, await SelectOneAsync(pg.ConnectionString(PostgresInstance.ScramUser, PostgresInstance.ScramPassword)));
    }

    [Fact]
    public async Task Md5User_CanConnectOverTcp()
    {
        var pg = _fixture.Postgres;
        Assert.Equal(1, await SelectOneAsync(pg.ConnectionString(PostgresInstance.Md5User, PostgresInstance.Md5Password)));
    }

    [Fact]
    public async Task AppUser_CanConnectToAppDb()
    {
        var pg = _fixture.Postgres;
        Assert.Equal(1, await SelectOneAsync(pg.ConnectionString(PostgresInstance.AppUser, PostgresInstance.AppPassword, PostgresInstance.AppDatabase)));
    }

    [Fact]
    public async Task WrongPassword_IsRejected()
    {
        var pg = _fixture.Postgres;
        var ex = await Assert.ThrowsAsync<PostgresException>(() => SelectOneAsync(pg.ConnectionString(PostgresInstance.ScramUser, "wrong")));
        Assert.Equal("28P01", ex.SqlState);
    }

    [Fact]
    public async Task Secrets_AreStoredInExpectedFormats()
    {
        var pg = _fixture.Postgres;
        var scram = await pg.GetScramSecretAsync(PostgresInstance.ScramUser);
        Assert.NotNull(scram);
        Assert.StartsWith("SCRAM-SHA-256$", scram);
        var md5 = await pg.GetScramSecretAsync(PostgresInstance.Md5User);
        Assert.Equal(TempFiles.Md5Secret(PostgresInstance.Md5User, PostgresInstance.Md5Password), md5);
    }

    [Fact]
    public async Task CountBackends_SeesOpenConnection()
    {
        var pg = _fixture.Postgres;
        await using var conn = new NpgsqlConnection(pg.ConnectionString(PostgresInstance.AppUser, PostgresInstance.AppPassword, PostgresInstance.AppDatabase));
        await conn.OpenAsync();
        Assert.True(await pg.CountBackendsAsync(PostgresInstance.AppUser, PostgresInstance.AppDatabase) >= 1);
    }
}
