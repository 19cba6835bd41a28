using System.Globalization;
using System.Net.Sockets;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Admin;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Admin;

/// <summary>
/// Runs Debian's PgBouncer 1.18 next to Sluice against the same PostgreSQL and compares SHOW headers with psql:
/// every column 1.18 prints must be in Sluice's answer too (1.25 only added columns), in the same relative order.
/// .ci/run installs /usr/sbin/pgbouncer; without it this test fails and says so.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PgBouncerDifferentialTests
{
    private const string PgBouncerPath = "/usr/sbin/pgbouncer";

    /// <summary>SHOW commands PgBouncer 1.18 has (STATE, PEERS and PEER_POOLS came in 1.19).</summary>
    private static readonly string[] Commands =
    [
        "STATS", "STATS_TOTALS", "STATS_AVERAGES", "TOTALS", "SERVERS", "CLIENTS", "SOCKETS", "ACTIVE_SOCKETS",
        "POOLS", "DATABASES", "USERS", "LISTS", "CONFIG", "MEM", "DNS_HOSTS", "DNS_ZONES", "VERSION",
    ];

    /// <summary>Columns PgBouncer renamed after 1.18 (pgbouncer.md §3.3): 1.18 name → 1.25 name.</summary>
    private static readonly Dictionary<(string Command, string Column), string> Renamed = new()
    {
        [("DATABASES", "reserve_pool")] = "reserve_pool_size",
    };

    private readonly PostgresFixture _fixture;

    public PgBouncerDifferentialTests(PostgresFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task EveryPgBouncer118Column_IsInSluiceInTheSameOrder()
    {
        Assert.True(File.Exists(PgBouncerPath), $"{PgBouncerPath} is missing: install Debian's pgbouncer package (.ci/run does) to run this differential test");

        await using var sluice = await TestPooler.StartConsoleAsync(_fixture.Postgres);
        await using var pgbouncer = await StartPgBouncerAsync(sluice.Dir);

        var problems = new List<string>();
        var checkedColumns = 0;
        foreach (var command in Commands)
        {
            var theirs = await Psql.RunAsync(pgbouncer.Port, "SHOW " + command, TestUsers.Admin, TestUsers.AdminPassword);
            var ours = await sluice.ConsoleAsync("SHOW " + command);
            Assert.True(theirs.Success, $"pgbouncer 1.18 SHOW {command}: {theirs}\n{pgbouncer.Process.Output}");
            Assert.True(ours.Success, $"Sluice SHOW {command}: {ours}");
            Assert.NotEmpty(theirs.Header);
            checkedColumns += theirs.Header.Length;

            var lastIndex = -1;
            foreach (var column in theirs.Header)
            {
                var name = Renamed.GetValueOrDefault((command, column), column);
                var index = Array.IndexOf(ours.Header, name);
                if (index < 0)
                {
                    problems.Add($"SHOW {command}: Sluice lacks 1.18's column '{column}'");
                }
                else if (index < lastIndex)
                {
                    problems.Add($"SHOW {command}: column '{column}' is out of 1.18's order");
                }
                lastIndex = Math.Max(lastIndex, index);
            }
        }

        // Every [pgbouncer] key 1.18 lists is one Sluice lists too.
        var theirKeys = (await Psql.RunAsync(pgbouncer.Port, "SHOW CONFIG", TestUsers.Admin, TestUsers.AdminPassword)).Records().Select(r => r["key"]);
        var ourKeys = (await sluice.ConsoleAsync("SHOW CONFIG")).Records().Select(r => r["key"]).ToHashSet();
        foreach (var key in theirKeys.Where(k => !ourKeys.Contains(k)))
        {
            problems.Add($"SHOW CONFIG: Sluice lacks 1.18's key '{key}'");
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        // 1.18's headers add up to well over a hundred columns; a handful would mean psql printed something else.
        Assert.True(checkedColumns > 100, $"only {checkedColumns} columns compared");
    }

    private sealed class PgBouncerProcess(BackgroundProcess process, int port) : IAsyncDisposable
    {
        public BackgroundProcess Process { get; } = process;

        public int Port { get; } = port;

        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }

    private async Task<PgBouncerProcess> StartPgBouncerAsync(TempDirectory dir)
    {
        var userlist = dir.File("userlist.txt");   // written by TestPooler: admin, stats, nobody, app
        for (var attempt = 0; ; attempt++)
        {
            var port = TempFiles.GetFreeTcpPort();
            var ini = new IniBuilder()
                .Setting("listen_addr", "127.0.0.1")
                .Setting("listen_port", port)
                .Setting("unix_socket_dir", "")
                .Setting("auth_type", "md5")
                .Setting("auth_file", userlist)
                .Setting("admin_users", TestUsers.Admin)
                .Setting("stats_users", TestUsers.Stats)
                .Setting("pool_mode", "transaction")
                .Setting("default_pool_size", 5)
                .Database(PostgresInstance.AppDatabase, _fixture.Postgres.LibpqConnectString(PostgresInstance.AppDatabase));
            var iniPath = dir.WriteIni("pgbouncer118.ini", ini);
            var process = ProcessRunner.StartBackground(PgBouncerPath, [iniPath], runAsUser: UnprivilegedUser.Name);
            try
            {
                await WaitForPortAsync(process, port);
                return new PgBouncerProcess(process, port);
            }
            catch (Exception) when (attempt < 2)
            {
                await process.DisposeAsync();
            }
            catch
            {
                await process.DisposeAsync();
                throw;
            }
        }
    }

    private static async Task WaitForPortAsync(BackgroundProcess process, int port)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"pgbouncer exited ({process.ExitCode}):\n{process.Output}");
            }
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync("127.0.0.1", port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            catch (SocketException e)
            {
                throw new TimeoutException($"pgbouncer did not listen on {port.ToString(CultureInfo.InvariantCulture)}: {e.Message}\n{process.Output}");
            }
        }
    }
}
