using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using static Sluice.IntegrationTests.Maintenance.MaintenanceKit;

namespace Sluice.IntegrationTests.Maintenance;

/// <summary>The janitor's timeouts with real PostgreSQL, real time and one-second values.</summary>
[Collection(PostgresCollection.Name)]
public sealed class RealTimeoutTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    private async Task<(TestRole Role, TestPooler Host)> StartAsync(Action<IniBuilder> configure)
    {
        var role = await TestRole.CreateAsync(Pg, "tmo");
        try
        {
            var host = await TestPooler.StartAsync(Pg, output, configure, users: [role.AuthFileEntry]);
            return (role, host);
        }
        catch
        {
            await role.DisposeAsync();
            throw;
        }
    }

    private static Task<NpgsqlConnection> OpenAsync(TestPooler host, TestRole role, Action<NpgsqlConnectionStringBuilder>? tweak = null) =>
        host.OpenAsync(role.Name, role.Password, tweak: tweak);

    [Fact]
    public async Task QueryWaitTimeout_FullPool_WaitingClientGetsQueryWaitTimeout()
    {
        var (role, host) = await StartAsync(ini => ini.Setting("default_pool_size", 1).Setting("query_wait_timeout", 1));
        await using var _ = role;
        await using var __ = host;
        await using var holder = await OpenAsync(host, role);
        await using var tx = await holder.BeginTransactionAsync();
        await holder.ExecAsync("SELECT 1");
        await using var waiter = await OpenAsync(host, role);

        var sw = Stopwatch.StartNew();
        var error = await ThrowsAnyAsync(() => waiter.ScalarAsync<int>("SELECT 1"), TimeSpan.FromSeconds(10));
        sw.Stop();

        Assert.Contains("query_wait_timeout", ErrorText(error));
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(4));
        Assert.Equal(1, await holder.ScalarAsync<int>("SELECT 1"));   // the holder is unaffected
        await tx.CommitAsync();
    }

    [Fact]
    public async Task ServerLifetime_ServersAreRecycled_WhileAClientKeepsWorking()
    {
        var (role, host) = await StartAsync(ini => ini.Setting("default_pool_size", 1).Setting("server_lifetime", 1));
        await using var _ = role;
        await using var __ = host;
        await using var client = await OpenAsync(host, role);

        var pids = new List<int>();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(3.5))
        {
            pids.Add(await client.ScalarAsync<int>("SELECT pg_backend_pid()"));   // any error fails the test
            await Task.Delay(50);
        }

        var distinct = pids.Distinct().ToList();
        Assert.True(distinct.Count >= 2, $"server_lifetime = 1 but one backend served {pids.Count} queries over 3.5 s");
        Assert.True(await CountBackendsAsync(Pg, role.Name) <= 1, "old servers were not closed");
    }

    [Fact]
    public async Task ServerIdleTimeout_IdleServersAreClosed_ClientsKeepWorking()
    {
        var (role, host) = await StartAsync(ini => ini.Setting("default_pool_size", 3).Setting("server_idle_timeout", 1));
        await using var _ = role;
        await using var __ = host;
        var clients = new List<NpgsqlConnection>();
        try
        {
            var txs = new List<NpgsqlTransaction>();
            for (var i = 0; i < 3; i++)
            {
                var c = await OpenAsync(host, role);
                clients.Add(c);
                txs.Add(await c.BeginTransactionAsync());
                await c.ExecAsync("SELECT 1");
            }
            Assert.Equal(3, await CountBackendsAsync(Pg, role.Name));
            foreach (var tx in txs)
            {
                await tx.CommitAsync();
            }
            await Task.Delay(300);
            Assert.Equal(3, await CountBackendsAsync(Pg, role.Name));   // not yet idle for a second

            await EventuallyAsync(async () => await CountBackendsAsync(Pg, role.Name) == 0, "idle servers closed", TimeSpan.FromSeconds(5));
            Assert.Equal(1, await clients[0].ScalarAsync<int>("SELECT 1"));
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task ClientIdleTimeout_IdleClientIsDisconnected()
    {
        var (role, host) = await StartAsync(ini => ini.Setting("client_idle_timeout", 1));
        await using var _ = role;
        await using var __ = host;
        await using var busy = await OpenAsync(host, role);
        await using var idle = await OpenAsync(host, role);
        await idle.ExecAsync("SELECT 1");

        // The busy client talks every 300 ms and must survive; the idle one must not.
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(2.5))
        {
            Assert.Equal(1, await busy.ScalarAsync<int>("SELECT 1"));
            await Task.Delay(300);
        }

        var error = await ThrowsAnyAsync(() => idle.ScalarAsync<int>("SELECT 1"));
        Assert.Contains("client_idle_timeout", ErrorText(error));
    }

    [Fact]
    public async Task IdleTransactionTimeout_ClientGetsError_AndItsBackendIsEnded()
    {
        var (role, host) = await StartAsync(ini => ini.Setting("idle_transaction_timeout", 1));
        await using var _ = role;
        await using var __ = host;
        await using var client = await OpenAsync(host, role);
        await using var tx = await client.BeginTransactionAsync();
        var pid = await client.ScalarAsync<int>("SELECT pg_backend_pid()");

        await Task.Delay(TimeSpan.FromSeconds(2.5));

        var error = await ThrowsAnyAsync(() => client.ScalarAsync<int>("SELECT 1"));
        Assert.Contains("idle transaction timeout", ErrorText(error));
        await EventuallyAsync(async () => !(await BackendPidsAsync(Pg, role.Name)).Contains(pid), "the backend holding the transaction ends");
        await using var next = await OpenAsync(host, role);
        Assert.Equal(1, await next.ScalarAsync<int>("SELECT 1"));
    }

    [Fact]
    public async Task QueryTimeout_PgSleep5_IsEndedAfterAboutOneSecond()
    {
        var (role, host) = await StartAsync(ini => ini.Setting("query_timeout", 1));
        await using var _ = role;
        await using var __ = host;
        await using var client = await OpenAsync(host, role);
        var pid = await client.ScalarAsync<int>("SELECT pg_backend_pid()");

        var sw = Stopwatch.StartNew();
        var error = await ThrowsAnyAsync(() => client.ExecAsync("SELECT pg_sleep(5)"), TimeSpan.FromSeconds(10));
        sw.Stop();

        Assert.Contains("query timeout", ErrorText(error));
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(3.5));
        await EventuallyAsync(async () => !(await BackendPidsAsync(Pg, role.Name)).Contains(pid), "the backend running pg_sleep ends");
    }

    [Fact]
    public async Task TransactionTimeout_LongBusyTransaction_IsEnded()
    {
        var (role, host) = await StartAsync(ini => ini.Setting("transaction_timeout", 1));
        await using var _ = role;
        await using var __ = host;
        await using var client = await OpenAsync(host, role);
        // Short transactions are fine however many there are.
        for (var i = 0; i < 6; i++)
        {
            await using var shortTx = await client.BeginTransactionAsync();
            await client.ExecAsync("SELECT pg_sleep(0.1)");
            await shortTx.CommitAsync();
        }

        await using var tx = await client.BeginTransactionAsync();
        var sw = Stopwatch.StartNew();
        var error = await ThrowsAnyAsync(async () =>
        {
            while (true)
            {
                await client.ExecAsync("SELECT pg_sleep(0.2)");   // never idle: only transaction_timeout can end it
            }
        }, TimeSpan.FromSeconds(10));

        Assert.Contains("transaction timeout", ErrorText(error));
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task ServerConnectTimeout_PeerAcceptsButNeverAnswers_ServerDroppedAfterAboutOneSecond_ClientWaitsForQueryWaitTimeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<Socket>();
        using var stop = new CancellationTokenSource();
        var acceptLoop = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    accepted.Add(await silent.AcceptSocketAsync(stop.Token));   // and never say a word
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        try
        {
            await using var host = await TestPooler.StartAsync(Pg, output, ini => ini
                .Setting("server_connect_timeout", 1)
                .Setting("query_wait_timeout", 3)
                .Database("silent", $"host=127.0.0.1 port={port} dbname=silent"));

            var sw = Stopwatch.StartNew();
            var error = await ThrowsAnyAsync(async () =>
            {
                await using var conn = await host.OpenAsync(database: "silent", tweak: b =>
                {
                    b.Timeout = 30;
                    b.GssEncryptionMode = GssEncryptionMode.Disable;   // one attempt, no retry meeting the cached error
                });
            }, TimeSpan.FromSeconds(20));
            sw.Stop();

            // As in PgBouncer the silent server is dropped at server_connect_timeout and the client keeps waiting
            // for the next attempt, until query_wait_timeout.
            output.WriteLine(ErrorText(error));
            Assert.Contains("query_wait_timeout", ErrorText(error), StringComparison.Ordinal);
            Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(8));
            Assert.Contains(host.LogLines, line => line.Contains("server connect failed", StringComparison.Ordinal) && line.Contains("timeout", StringComparison.Ordinal));
            Assert.NotEmpty(accepted);
        }
        finally
        {
            await stop.CancelAsync();
            await acceptLoop;
            foreach (var s in accepted)
            {
                s.Dispose();
            }
        }
    }
}
