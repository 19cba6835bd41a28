using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Config;
using Sluice.Hosting;
using Sluice.Testing;
using Sluice.Testing.Admin;

namespace Sluice.IntegrationTests.Admin;

/// <summary>
/// Sluice hosted in the test process for console tests: an ini file on disk (so RELOAD can re-read it),
/// auth_type md5 with plain passwords for admin, stats, a user in neither list, and the fixture's app role.
/// </summary>
internal sealed class AdminHost : IAsyncDisposable
{
    public const string AdminUser = "admin";
    public const string AdminPassword = "adminpass";
    public const string StatsUser = "stats";
    public const string StatsPassword = "statspass";
    public const string OtherUser = "nobody";
    public const string OtherPassword = "nobodypass";

    private AdminHost(TempDirectory dir, string iniPath, IniBuilder ini, Pooler pooler, int port)
    {
        Directory = dir;
        IniPath = iniPath;
        Ini = ini;
        Pooler = pooler;
        Port = port;
    }

    public TempDirectory Directory { get; }

    public string IniPath { get; }

    public IniBuilder Ini { get; }

    public Pooler Pooler { get; }

    public int Port { get; }

    public static async Task<AdminHost> StartAsync(PostgresFixture fixture, Action<IniBuilder>? configure = null)
    {
        var dir = TempDirectory.Create("sluice-admin-");
        try
        {
            var userlist = dir.WriteUserList("userlist.txt",
                (AdminUser, AdminPassword),
                (StatsUser, StatsPassword),
                (OtherUser, OtherPassword),
                (PostgresInstance.AppUser, PostgresInstance.AppPassword));
            for (var attempt = 0; ; attempt++)
            {
                var port = TempFiles.GetFreeTcpPort();
                var ini = new IniBuilder()
                    .Setting("listen_addr", "127.0.0.1")
                    .Setting("listen_port", port)
                    .Setting("unix_socket_dir", "")
                    .Setting("auth_type", "md5")
                    .Setting("auth_file", userlist)
                    .Setting("admin_users", AdminUser)
                    .Setting("stats_users", StatsUser)
                    .Setting("pool_mode", "transaction")
                    .Setting("default_pool_size", 5)
                    .Setting("log_connections", "0")
                    .Setting("log_disconnections", "0")
                    .Database(PostgresInstance.AppDatabase, fixture.Postgres.LibpqConnectString(PostgresInstance.AppDatabase));
                configure?.Invoke(ini);
                var iniPath = dir.WriteIni("sluice.ini", ini);
                var pooler = new Pooler(ConfigLoader.LoadFile(iniPath), NullLoggerFactory.Instance);
                try
                {
                    await pooler.StartAsync();
                    return new AdminHost(dir, iniPath, ini, pooler, port);
                }
                catch (IOException) when (attempt < 3)
                {
                    await pooler.DisposeAsync();
                }
            }
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>Npgsql connection string for a client of <paramref name="database"/> through Sluice.</summary>
    public string ConnectionString(string user, string password, string database = PostgresInstance.AppDatabase, string? extra = null) =>
        $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username={user};Password={password};Database={database};Pooling=false;Timeout=15;Command Timeout=30"
        + (extra is null ? "" : ";" + extra);

    /// <summary>Runs one command with psql against the console (-A -F '|' -X, footers off).</summary>
    public Task<PsqlResult> PsqlAsync(string command, string user = AdminUser, string password = AdminPassword) =>
        Psql.RunAsync(Port, command, user, password);

    public async ValueTask DisposeAsync()
    {
        await Pooler.DisposeAsync();
        Directory.Dispose();
    }
}
