using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Sluice.Pooling;
using Sluice.Testing.FakePostgres;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.Tests.Maintenance;

/// <summary>
/// Tests on a fake clock: a <see cref="TestPooler"/> on a <see cref="FakeTimeProvider"/> in front of the fake
/// backend (database "db", trust auth, user "app"). Sockets run in real time; every timestamp Sluice takes and
/// every timeout it arms follow the fake clock, which only moves in <see cref="TestPooler.AdvanceAsync"/>.
/// </summary>
internal static class FakeClock
{
    /// <summary>How long the tests give real I/O to happen (and, for "nothing happens" checks, to not happen).</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    /// <summary>The single pool (db/app); throws if there is none yet.</summary>
    extension(TestPooler host)
    {
        public Pool Pool => host.Pooler.Pools.All.Single();
    }

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

    /// <summary>Starts the fake and Sluice in transaction mode without wait notices; <paramref name="settings"/> are extra [pgbouncer] lines.</summary>
    public static Task<TestPooler> StartAsync(Func<FakeServerConnection, Task>? script = null, params string[] settings) =>
        TestPooler.StartAsync(new TestPoolerOptions
        {
            FakeScript = script ?? ServingScript(),
            Time = new FakeTimeProvider(),
            Configure = ini => ini
                .Setting("pool_mode", "transaction")
                .Setting("query_wait_notify", 0)
                .SettingLines(settings),
        });

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
}
