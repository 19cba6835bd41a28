using Npgsql;
using Sluice.Hosting;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Operations;

/// <summary>
/// SHUTDOWN WAIT_FOR_CLIENTS / WAIT_FOR_SERVERS while draining: TCP closes at once, the Unix socket stays for the
/// console and refuses other logins, running clients finish (WAIT_FOR_CLIENTS) or their next transaction is refused
/// (WAIT_FOR_SERVERS).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class GracefulShutdownTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private static string UnixConnectionString(TestPooler host) => new NpgsqlConnectionStringBuilder
    {
        Host = host.SocketDir,
        Port = host.Port,
        Username = PostgresInstance.AppUser,
        Password = PostgresInstance.AppPassword,
        Database = PostgresInstance.AppDatabase,
        Pooling = false,
        Timeout = 10,
    }.ConnectionString;

    [Fact]
    public async Task WaitForClients_ClosesTcp_KeepsUnixSocketButRefusesLogins_ConnectedClientCarriesOn()
    {
        await using var host = await TestPooler.StartAsync(fixture.Postgres, output);
        await using var connected = await host.OpenAsync();
        Assert.Equal(1, await connected.ScalarAsync<int>("SELECT 1"));

        host.Pooler.RequestShutdown(ShutdownMode.WaitForClients);

        await Assert.ThrowsAnyAsync<NpgsqlException>(() => host.OpenAsync());
        Assert.True(File.Exists(Path.Combine(host.SocketDir!, $".s.PGSQL.{host.Port}")), "the Unix socket must stay while clients remain");
        await using (var unix = new NpgsqlConnection(UnixConnectionString(host)))
        {
            var error = await Assert.ThrowsAnyAsync<PostgresException>(() => unix.OpenAsync());
            Assert.Equal("pooler is shutting down", error.MessageText);
        }
        Assert.Equal(2, await connected.ScalarAsync<int>("SELECT 2"));
    }

    [Fact]
    public async Task WaitForServers_OpenTransactionFinishes_NextTransactionIsRefused()
    {
        await using var host = await TestPooler.StartAsync(fixture.Postgres, output, ini => ini.Setting("pool_mode", "transaction"));
        await using var inTransaction = await host.OpenAsync();
        await using var idle = await host.OpenAsync();
        Assert.Equal(1, await idle.ScalarAsync<int>("SELECT 1"));
        await using var tx = await inTransaction.BeginTransactionAsync();
        Assert.Equal(1, await inTransaction.ScalarAsync<int>("SELECT 1"));

        host.Pooler.RequestShutdown(ShutdownMode.WaitForServers);

        Assert.Equal(2, await inTransaction.ScalarAsync<int>("SELECT 2"));
        var error = await Assert.ThrowsAnyAsync<PostgresException>(() => idle.ScalarAsync<int>("SELECT 3"));
        Assert.Equal("server shutting down", error.MessageText);
        await tx.CommitAsync();
    }
}
