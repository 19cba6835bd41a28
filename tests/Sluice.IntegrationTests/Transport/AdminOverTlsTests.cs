using System.Globalization;
using Npgsql;
using Sluice.IntegrationTests.Admin;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.IntegrationTests.Operations;
using Sluice.Testing;
using Sluice.Testing.Admin;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Transport;

/// <summary>
/// The admin console over TLS (psql with sslmode=require to the pgbouncer database), and the tls column of
/// SHOW CLIENTS / SHOW SERVERS, filled as PgBouncer does: protocol/cipher, empty for plain connections.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AdminOverTlsTests(PostgresFixture fixture, TlsFixture tls, ITestOutputHelper output) : IClassFixture<TlsFixture>
{
    private Task<TestPooler> StartAsync(Action<IniBuilder>? configure = null) =>
        TestPooler.StartOperationsAsync(fixture.Postgres, output, ini =>
        {
            ini.Setting("client_tls_sslmode", "prefer")
                .Setting("client_tls_cert_file", tls.ServerCertFile)
                .Setting("client_tls_key_file", tls.ServerKeyFile);
            configure?.Invoke(ini);
        });

    /// <summary>psql to the console with the given sslmode; \conninfo first names the TLS protocol when there is one.</summary>
    private async Task<(PsqlResult Result, string ConnInfo)> ConsoleAsync(TestPooler host, string sslmode, params string[] commands)
    {
        string[] connect = ["-h", "127.0.0.1", "-p", host.Port.ToString(CultureInfo.InvariantCulture), "-U", OpsUsers.Admin, "-d", "pgbouncer",
            "-X", "-A", "-F", "|", "-P", "footer=off", "-v", "ON_ERROR_STOP=1"];
        List<string> args = [.. connect];
        foreach (var command in commands)
        {
            args.AddRange(["-c", command]);
        }
        var env = new Dictionary<string, string>
        {
            ["PGPASSWORD"] = OpsUsers.AdminPassword,
            ["PGCONNECT_TIMEOUT"] = "10",
            ["PGSSLMODE"] = sslmode,
            ["PGSSLCERT"] = "/nonexistent/postgresql.crt",
            ["PGSSLKEY"] = "/nonexistent/postgresql.key",
        };
        var r = await ProcessRunner.RunAsync("psql", args, TimeSpan.FromSeconds(30), env: env);
        output.WriteLine($"psql sslmode={sslmode} {string.Join(" ", commands)}: {r}");
        var conninfo = await ProcessRunner.RunAsync("psql", [.. connect, "-c", "\\conninfo"], TimeSpan.FromSeconds(30), env: env);
        return (new PsqlResult(r.ExitCode, r.StdOut, r.StdErr), conninfo.StdOut);
    }

    [Fact]
    public async Task Console_OverTls_ShowClients_FillsTheTlsColumn()
    {
        await using var host = await StartAsync();
        await using var plain = new NpgsqlConnection(host.ConnectionString(extra: "SSL Mode=Disable;Application Name=plainapp"));
        await plain.OpenAsync();
        await using var encrypted = new NpgsqlConnection(host.ConnectionString(extra: "SSL Mode=Require;Application Name=tlsapp"));
        await encrypted.OpenAsync();

        var (r, conninfo) = await ConsoleAsync(host, "require", "SHOW CLIENTS", "SHOW VERSION");
        Assert.True(r.Success, r.ToString());
        Assert.Contains("SSL connection (protocol: TLSv1.3", conninfo);

        var rows = r.Records();
        var console = Assert.Single(rows, x => x.GetValueOrDefault("database") == "pgbouncer");
        Assert.StartsWith("TLSv1.3/TLS_", console["tls"], StringComparison.Ordinal);
        Assert.StartsWith("TLSv1.3/TLS_", Assert.Single(rows, x => x.GetValueOrDefault("application_name") == "tlsapp")["tls"], StringComparison.Ordinal);
        Assert.Equal("", Assert.Single(rows, x => x.GetValueOrDefault("application_name") == "plainapp")["tls"]);
        // The second command of the same session went through TLS as well.
        Assert.Contains("PgBouncer", r.StdOut, StringComparison.Ordinal);

        // Plain consoles still work, and show an empty tls column for themselves.
        var (plainConsole, plainInfo) = await ConsoleAsync(host, "disable", "SHOW CLIENTS");
        Assert.True(plainConsole.Success, plainConsole.ToString());
        Assert.DoesNotContain("SSL connection", plainInfo);
        Assert.Equal("", Assert.Single(plainConsole.Records(), x => x.GetValueOrDefault("database") == "pgbouncer")["tls"]);
    }

    [Fact]
    public async Task Console_OverTls_RequiredMode_RunsCommands()
    {
        await using var host = await StartAsync(ini => ini.Setting("client_tls_sslmode", "require"));

        var (r, _) = await ConsoleAsync(host, "require", "SHOW POOLS", "RELOAD", "SHOW CONFIG");
        Assert.True(r.Success, r.ToString());
        Assert.Contains("client_tls_sslmode|require", r.StdOut, StringComparison.Ordinal);

        var (refused, _) = await ConsoleAsync(host, "disable", "SHOW POOLS");
        Assert.False(refused.Success);
        Assert.Contains("SSL required", refused.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShowServers_TlsToPostgres_FillsTheTlsColumn()
    {
        await using var host = await StartAsync(ini => ini
            .Setting("server_tls_sslmode", "require")
            .Database("ssldb", $"host=127.0.0.1 port={tls.SslPostgres.Port.ToString(CultureInfo.InvariantCulture)} dbname={PostgresInstance.AppDatabase}"));
        await using (var conn = new NpgsqlConnection(host.ConnectionString(database: "ssldb", extra: "SSL Mode=Disable")))
        {
            await conn.OpenAsync();
            Assert.Equal(42, await conn.ScalarAsync<int>("SELECT 41 + 1"));
        }

        var (r, _) = await ConsoleAsync(host, "require", "SHOW SERVERS");
        Assert.True(r.Success, r.ToString());
        var server = Assert.Single(r.Records(), x => x.GetValueOrDefault("database") == "ssldb");
        Assert.StartsWith("TLSv1.3/TLS_", server["tls"], StringComparison.Ordinal);
    }
}
