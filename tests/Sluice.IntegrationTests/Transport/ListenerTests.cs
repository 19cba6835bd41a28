using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Transport;

/// <summary>TCP and Unix-socket listeners, checked with libpq tools (pg_isready, psql).</summary>
[Collection(PostgresCollection.Name)]
public sealed class ListenerTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    private string Tool(string name) => Path.Combine(Pg.BinDir, name);

    private static Dictionary<string, string> PasswordEnv => new() { ["PGPASSWORD"] = PostgresInstance.AppPassword, ["PGCONNECT_TIMEOUT"] = "10" };

    [Fact]
    public async Task PgIsReady_OverTcpAndUnixSocket_ReturnsZero()
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        Assert.True(File.Exists(Path.Combine(host.SocketDir!, $".s.PGSQL.{host.Port}")), "the Unix socket file is missing");

        var tcp = await ProcessRunner.RunAsync(Tool("pg_isready"), ["-h", "127.0.0.1", "-p", host.PortText, "-t", "5"], TimeSpan.FromSeconds(20));
        Assert.True(tcp.ExitCode == 0, tcp.ToString());

        var unix = await ProcessRunner.RunAsync(Tool("pg_isready"), ["-h", host.SocketDir!, "-p", host.PortText, "-t", "5"], TimeSpan.FromSeconds(20));
        Assert.True(unix.ExitCode == 0, unix.ToString());

        // And a port nobody listens on is reported as such (the check can fail).
        var none = await ProcessRunner.RunAsync(Tool("pg_isready"), ["-h", "127.0.0.1", "-p", TempFiles.GetFreeTcpPort().ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "2"], TimeSpan.FromSeconds(20));
        Assert.NotEqual(0, none.ExitCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Psql_RunsQuery_OverUnixSocketOrTcp(bool unixSocket)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        var hostArg = unixSocket ? host.SocketDir! : "127.0.0.1";
        var r = await ProcessRunner.RunAsync(Tool("psql"),
            ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", hostArg, "-p", host.PortText, "-U", PostgresInstance.AppUser, PostgresInstance.AppDatabase,
             "-c", "select 1", "-c", "select current_user"],
            TimeSpan.FromSeconds(30), env: PasswordEnv);
        Assert.True(r.Success, r.ToString());
        Assert.Equal(["1", PostgresInstance.AppUser], r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        var wrong = await ProcessRunner.RunAsync(Tool("psql"),
            ["-X", "-h", hostArg, "-p", host.PortText, "-U", PostgresInstance.AppUser, PostgresInstance.AppDatabase, "-c", "select 1"],
            TimeSpan.FromSeconds(30), env: new Dictionary<string, string> { ["PGPASSWORD"] = "wrong" });
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("password authentication failed", wrong.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExplicitPort_WithoutUnixSocket_ListensOnTcpOnly()
    {
        var port = TempFiles.GetFreeTcpPort();
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("listen_port", port), unixSocket: false);
        Assert.Equal(port, host.Port);
        Assert.Null(host.SocketDir);
        Assert.Single(host.Pooler.Endpoints);
        Assert.False(File.Exists(host.Dir.File($".s.PGSQL.{port}")));
        await using var conn = await host.OpenAsync();
        Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));
    }

    [Fact]
    public async Task SecondPooler_OnSamePort_FailsToStart()
    {
        await using var first = await TestPooler.StartAsync(Pg, output, unixSocket: false);
        TestPooler? second = null;
        try
        {
            second = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("listen_port", first.Port), unixSocket: false);
        }
        catch (IOException e)
        {
            output.WriteLine("second pooler refused as expected: " + e.Message);
        }
        finally
        {
            if (second is not null)
            {
                await second.DisposeAsync();
            }
        }
        // With so_reuseport = 0 (the default) the port is exclusive, as with PgBouncer ("Address already in use").
        Assert.True(second is null, "a second pooler could bind the same port although so_reuseport is off");
        await using var conn = await first.OpenAsync();
        Assert.Equal(1, await conn.ScalarAsync<int>("SELECT 1"));
    }
}
