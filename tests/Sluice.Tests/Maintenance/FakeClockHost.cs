using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Sluice.Config;
using Sluice.Hosting;
using Sluice.Pooling;
using Sluice.Testing;
using Sluice.Testing.FakePostgres;
using Sluice.Testing.Wire;

namespace Sluice.Tests.Maintenance;

/// <summary>
/// An in-process Sluice on a <see cref="FakeTimeProvider"/> in front of a <see cref="FakePostgresServer"/>: the only
/// database is "db" (trust auth, user "app"). Sockets run in real time; every timestamp Sluice takes and every
/// timeout it arms follow the fake clock, which only moves in <see cref="AdvanceAsync"/>.
/// </summary>
internal sealed class FakeClockHost : IAsyncDisposable
{
    public const string User = "app";
    public const string Database = "db";

    /// <summary>How long the tests give real I/O to happen (and, for "nothing happens" checks, to not happen).</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    private readonly TempDirectory _dir;

    private FakeClockHost(TempDirectory dir, FakeTimeProvider time, Pooler pooler, FakePostgresServer fake, IPEndPoint endPoint)
    {
        _dir = dir;
        Time = time;
        Pooler = pooler;
        Fake = fake;
        EndPoint = endPoint;
    }

    public FakeTimeProvider Time { get; }

    public Pooler Pooler { get; }

    public FakePostgresServer Fake { get; }

    public IPEndPoint EndPoint { get; }

    /// <summary>The single pool (db/app); throws if there is none yet.</summary>
    public Pool Pool => Pooler.Pools.All.Single();

    /// <summary>
    /// A fake that logs every server in (pid = its login number) and answers like PostgreSQL would for
    /// BEGIN/COMMIT/SET/SELECT; "SELECT hang…" is read but never answered.
    /// </summary>
    public static Func<FakeServerConnection, Task> ServingScript()
    {
        var logins = 0;
        return async c =>
        {
            var n = Interlocked.Increment(ref logins);
            await c.CompleteLoginAsync(n, n);
            var respond = FakeResponders.Transactional();
            await c.ServeQueriesAsync((conn, sql) =>
                sql.StartsWith("SELECT hang", StringComparison.OrdinalIgnoreCase) ? Task.CompletedTask : respond(conn, sql));
        };
    }

    /// <summary>Starts the fake and Sluice; <paramref name="settings"/> are extra [pgbouncer] lines.</summary>
    public static async Task<FakeClockHost> StartAsync(Func<FakeServerConnection, Task>? script = null, params string[] settings)
    {
        var fake = FakePostgresServer.Start(script ?? ServingScript());
        var dir = TempDirectory.Create("sluice-fakeclock-");
        try
        {
            var authFile = dir.WriteUserList("userlist.txt", (User, "unused"));
            for (var attempt = 1; ; attempt++)
            {
                var ini = $"""
                    [databases]
                    {Database} = host=127.0.0.1 port={fake.Port} dbname={Database}

                    [pgbouncer]
                    listen_addr = 127.0.0.1
                    listen_port = {TempFiles.GetFreeTcpPort()}
                    unix_socket_dir =
                    auth_type = trust
                    auth_file = {authFile}
                    server_tls_sslmode = disable
                    pool_mode = transaction
                    query_wait_notify = 0
                    {string.Join("\n", settings)}
                    """;
                var time = new FakeTimeProvider();
                var pooler = new Pooler(ConfigLoader.LoadText(ini, "fakeclock.ini"), NullLoggerFactory.Instance, time);
                try
                {
                    await pooler.StartAsync();
                }
                catch (IOException) when (attempt < 5)
                {
                    await pooler.DisposeAsync();
                    continue;
                }
                var endPoint = pooler.Endpoints.OfType<IPEndPoint>().First();
                return new FakeClockHost(dir, time, pooler, fake, endPoint);
            }
        }
        catch
        {
            dir.Dispose();
            await fake.DisposeAsync();
            throw;
        }
    }

    /// <summary>Moves the fake clock, runs the janitor, then lets real I/O settle for a moment.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        Time.Advance(by);
        Pooler.Janitor.Tick();
        await Task.Delay(50);
    }

    public Task<RawPgClient> LoginAsync() => RawPgClient.LoginAsync(EndPoint, User, Database);

    public Task<RawPgClient> LoginOkAsync() => RawPgClient.LoginOkAsync(EndPoint, User, Database);

    /// <summary>Polls (in real time, bounded) until <paramref name="condition"/> holds.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > (timeout ?? TimeSpan.FromSeconds(10)))
            {
                throw new TimeoutException("timed out waiting for: " + what);
            }
            await Task.Delay(10);
        }
    }

    /// <summary>The client got nothing and is still connected.</summary>
    public static async Task AssertSilentAsync(RawPgClient client, string because)
    {
        PgMessage? message;
        try
        {
            message = await client.ReadAsync(Quiet);
        }
        catch (TimeoutException)
        {
            return;
        }
        Assert.Fail(message is null ? $"the client was disconnected ({because})" : $"the client got {message} ({because})");
    }

    /// <summary>The client gets a FATAL with exactly <paramref name="text"/>, then the connection ends.</summary>
    public static async Task AssertFatalThenClosedAsync(RawPgClient client, string text)
    {
        var message = await client.ReadAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(message);
        Assert.Equal('E', message.Type);
        var fields = message.Fields;
        Assert.Equal("FATAL", fields['S']);
        Assert.Equal(text, fields['M']);
        Assert.Null(await client.ReadAsync(TimeSpan.FromSeconds(5)));
    }

    /// <summary>True when Sluice closed this server connection within <paramref name="timeout"/>.</summary>
    public static async Task<bool> ServerClosedAsync(FakeServerConnection server, TimeSpan timeout)
    {
        try
        {
            await server.ScriptDone.WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Pooler.DisposeAsync();
        await Fake.DisposeAsync();
        _dir.Dispose();
    }
}
