using System.Net;
using Microsoft.Extensions.Logging;
using Sluice.Config;
using Sluice.Hosting;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.FakePostgres;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Faults;

/// <summary>
/// An in-process Sluice whose only database ("db", user "app", trust auth) points at a <see cref="FakePostgresServer"/>.
/// </summary>
public sealed class FaultHost : IAsyncDisposable
{
    public const string User = "app";
    public const string Database = "db";

    private readonly TempDirectory _dir;
    private readonly TestLoggerProvider _logs;

    private FaultHost(TempDirectory dir, Pooler pooler, FakePostgresServer fake, TestLoggerProvider logs, IPEndPoint endPoint)
    {
        _dir = dir;
        Pooler = pooler;
        Fake = fake;
        _logs = logs;
        EndPoint = endPoint;
    }

    public Pooler Pooler { get; }

    public FakePostgresServer Fake { get; }

    /// <summary>Where Sluice listens (127.0.0.1).</summary>
    public IPEndPoint EndPoint { get; }

    public string LogTail(int lines = 40) => _logs.Tail(lines);

    /// <summary>
    /// Starts the fake with <paramref name="script"/> and Sluice in front of it. <paramref name="settings"/> are extra
    /// [pgbouncer] lines (e.g. "pool_mode = transaction").
    /// </summary>
    public static async Task<FaultHost> StartAsync(Func<FakeServerConnection, Task> script, ITestOutputHelper? output = null, params string[] settings)
    {
        var fake = FakePostgresServer.Start(script);
        var dir = TempDirectory.Create("sluice-fault-");
        try
        {
            var authFile = dir.WriteUserList("userlist.txt", (User, "unused"));
            for (var attempt = 1; ; attempt++)
            {
                var port = TempFiles.GetFreeTcpPort();
                var ini = $"""
                    [databases]
                    {Database} = host=127.0.0.1 port={fake.Port} dbname={Database}

                    [pgbouncer]
                    listen_addr = 127.0.0.1
                    listen_port = {port}
                    unix_socket_dir =
                    auth_type = trust
                    auth_file = {authFile}
                    server_tls_sslmode = disable
                    ignore_startup_parameters = extra_float_digits
                    {string.Join("\n", settings)}
                    """;
                var config = ConfigLoader.LoadText(ini, "fault.ini");
                var logs = new TestLoggerProvider(output, LogLevel.Debug);
                var pooler = new Pooler(config, new LoggerFactory(logs));
                try
                {
                    await pooler.StartAsync();
                }
                catch (IOException) when (attempt < 5)
                {
                    await pooler.DisposeAsync();
                    continue;   // the free port was taken in between
                }
                var endPoint = pooler.Endpoints.OfType<IPEndPoint>().First();
                return new FaultHost(dir, pooler, fake, logs, endPoint);
            }
        }
        catch
        {
            dir.Dispose();
            await fake.DisposeAsync();
            throw;
        }
    }

    /// <summary>Raw-socket client login as app/db.</summary>
    public Task<RawPgClient> LoginAsync(params (string Name, string Value)[] parameters) =>
        RawPgClient.LoginAsync(EndPoint, User, Database, parameters: parameters.Select(p => new KeyValuePair<string, string>(p.Name, p.Value)));

    public Task<RawPgClient> LoginOkAsync(params (string Name, string Value)[] parameters) =>
        RawPgClient.LoginOkAsync(EndPoint, User, Database, parameters: parameters.Select(p => new KeyValuePair<string, string>(p.Name, p.Value)));

    /// <summary>Npgsql connection string (no Npgsql pooling, no type loading so it sends no queries of its own).</summary>
    public string NpgsqlConnectionString(string extra = "") =>
        $"Host=127.0.0.1;Port={EndPoint.Port};Username={User};Database={Database};Pooling=false;Server Compatibility Mode=NoTypeLoading;Timeout=10;Command Timeout=30;{extra}";

    public async ValueTask DisposeAsync()
    {
        await Pooler.DisposeAsync();
        await Fake.DisposeAsync();
        _dir.Dispose();
    }

    private sealed class LoggerFactory(ILoggerProvider provider) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => provider.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }
    }
}
