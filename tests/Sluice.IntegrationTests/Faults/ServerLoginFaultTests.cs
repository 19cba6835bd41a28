using System.Diagnostics;
using Npgsql;
using Sluice.Testing.FakePostgres;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Faults;

/// <summary>Faults while Sluice logs in to the server.</summary>
public sealed class ServerLoginFaultTests(ITestOutputHelper output)
{
    private const string NoSuchDatabase = "database \"db\" does not exist";

    private static async Task RefuseDatabase(FakeServerConnection c)
    {
        await c.SendErrorAsync("FATAL", "3D000", NoSuchDatabase);
        c.Close();
    }

    [Fact]
    public async Task LoginError3D000_IsRelayedToTheClient_Npgsql()
    {
        await using var host = await TestPooler.StartAsync(RefuseDatabase, output);
        // With its default GssEncryptionMode=Prefer, Npgsql retries a failed login once without GSS encryption
        // (Sluice answered 'N' anyway); disabling it keeps this to exactly one attempt.
        await using var connection = new NpgsqlConnection(host.ConnectionString(extra: "Gss Encryption Mode=Disable"));

        var e = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync()).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal("3D000", e.SqlState);
        Assert.Equal(NoSuchDatabase, e.MessageText);
        Assert.Equal("FATAL", e.Severity);
        Assert.Equal(1, host.Fake.StartupCount);
    }

    [Fact]
    public async Task LoginError3D000_NpgsqlDefaults_SqlStateSurvivesTheRetry()
    {
        await using var host = await TestPooler.StartAsync(RefuseDatabase, output);
        await using var connection = new NpgsqlConnection(host.ConnectionString());

        var e = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync()).WaitAsync(TimeSpan.FromSeconds(20));

        // Npgsql relies on 3D000 to report "database does not exist"; a retry inside server_login_retry gets
        // PgBouncer's cached error, which must keep the server's SQLSTATE.
        Assert.Equal("3D000", e.SqlState);
        Assert.Contains(NoSuchDatabase, e.MessageText);
    }

    [Fact]
    public async Task LoginError3D000_IsRelayedToTheClient_Raw()
    {
        await using var host = await TestPooler.StartAsync(RefuseDatabase, output);

        await using var client = await host.LoginAsync();

        Assert.False(client.Login!.Ok);
        Assert.Equal("3D000", client.Login.Error!['C']);
        Assert.Equal(NoSuchDatabase, client.Login.Error['M']);
        Assert.Equal("FATAL", client.Login.Error['S']);
        Assert.True(await client.WaitForCloseAsync(TimeSpan.FromSeconds(5)), "Sluice must close the client after a FATAL");
        var startup = host.Fake.Connections.Single().StartupParameters;
        Assert.Equal("app", startup["user"]);
        Assert.Equal("db", startup["database"]);
    }

    [Fact]
    public async Task ServerNeverAnswersStartup_ConnectionDroppedAfterServerConnectTimeout_ClientWaitsForQueryWaitTimeout()
    {
        // As in PgBouncer, a server that never answers is dropped at server_connect_timeout and retried after
        // server_login_retry; the waiting client is not failed by it, query_wait_timeout ends its wait.
        var closedBySluice = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestPooler.StartAsync(
            async c => closedBySluice.TrySetResult(await c.WaitForCloseAsync(TimeSpan.FromSeconds(20))),
            output,
            "server_connect_timeout = 1", "query_wait_timeout = 2");

        var clock = Stopwatch.StartNew();
        await using var client = await host.LoginAsync();
        clock.Stop();

        Assert.False(client.Login!.Ok, "login should fail: the server never answered");
        Assert.Equal("FATAL", client.Login.Error!['S']);
        output.WriteLine($"error after {clock.ElapsedMilliseconds} ms: {client.Login.Error['C']} {client.Login.Error['M']}");
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.8), TimeSpan.FromSeconds(6));
        Assert.Equal("query_wait_timeout", client.Login.Error['M']);
        // The half-open server connection is not leaked.
        Assert.True(await closedBySluice.Task.WaitAsync(TimeSpan.FromSeconds(10)), "Sluice never closed the silent server connection");
    }

    [Fact]
    public async Task ServerSendsInvalidLengthDuringLogin_ServerDropped_ClientWaitsForQueryWaitTimeout()
    {
        var closedBySluice = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                await c.SendAuthOkAsync();
                await c.SendRawAsync(new byte[] { (byte)'S', 0, 0, 0, 2 });   // length 2 cannot count itself
                closedBySluice.TrySetResult(await c.WaitForCloseAsync(TimeSpan.FromSeconds(20)));
            },
            output,
            "query_wait_timeout = 2");

        var clock = Stopwatch.StartNew();
        await using var client = await host.LoginAsync();

        Assert.False(client.Login!.Ok);
        Assert.Equal("FATAL", client.Login.Error!['S']);
        Assert.Equal("query_wait_timeout", client.Login.Error['M']);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"took {clock.Elapsed}");
        Assert.True(await closedBySluice.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task ServerClosesDuringLogin_ClientWaitsForQueryWaitTimeout()
    {
        await using var host = await TestPooler.StartAsync(
            async c =>
            {
                await c.SendAuthOkAsync();
                await c.SendParameterStatusAsync("server_version", "16.4");
                c.CloseAbruptly();
            },
            output,
            "query_wait_timeout = 2");

        var clock = Stopwatch.StartNew();
        await using var client = await host.LoginAsync();

        Assert.False(client.Login!.Ok);
        Assert.Equal("FATAL", client.Login.Error!['S']);
        Assert.Equal("query_wait_timeout", client.Login.Error['M']);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"took {clock.Elapsed}");
    }
}
