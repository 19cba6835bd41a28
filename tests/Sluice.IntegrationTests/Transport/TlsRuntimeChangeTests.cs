using System.Globalization;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.IntegrationTests.Operations;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Transport;

/// <summary>
/// TLS settings changed while running, as PgBouncer handles them: SET and RELOAD always take the values, the TLS
/// setup in use changes once they work together (else a notice and the old setup), a server-side change replaces
/// the servers and forgets a cached login failure, and a refused server certificate keeps clients waiting.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class TlsRuntimeChangeTests(PostgresFixture fixture, TlsFixture tls, ITestOutputHelper output) : IClassFixture<TlsFixture>
{
    private const string Refused = "TLS settings could not be applied, still using old configuration";

    [Fact]
    public async Task Set_KeyOfAnotherPair_WaitsForItsCertificate_ThenBothServe()
    {
        using var dir = TempDirectory.Create("sluice-tls-set-");
        using var first = TlsReloadTests.SelfSigned("first");
        using var second = TlsReloadTests.SelfSigned("second");
        var (cert, key) = TlsReloadTests.WritePair(dir, first, "first");
        var (newCert, newKey) = TlsReloadTests.WritePair(dir, second, "second");
        await using var host = await TestPooler.StartOperationsAsync(fixture.Postgres, output, ini => ini
            .Setting("client_tls_sslmode", "prefer")
            .Setting("client_tls_cert_file", cert)
            .Setting("client_tls_key_file", key));

        var setKey = await host.ConsoleAsync($"SET client_tls_key_file = '{newKey}'");
        Assert.True(setKey.Success, setKey.ToString());
        Assert.Contains(Refused, setKey.StdErr, StringComparison.Ordinal);
        Assert.Equal(newKey, await Ops.ConfigValueAsync(host.ConsoleAsync, "client_tls_key_file"));
        Assert.Equal(first.Thumbprint, await TlsReloadTests.PresentedCertificateAsync(host.Port));

        var setCert = await host.ConsoleAsync($"SET client_tls_cert_file = '{newCert}'");
        Assert.True(setCert.Success, setCert.ToString());
        Assert.DoesNotContain(Refused, setCert.StdErr, StringComparison.Ordinal);
        Assert.Equal(second.Thumbprint, await TlsReloadTests.PresentedCertificateAsync(host.Port));
    }

    [Fact]
    public async Task Set_UnknownTls13Cipher_IsLogged_AndTheOldSetupServes()
    {
        await using var host = await TestPooler.StartOperationsAsync(fixture.Postgres, output, ini => ini
            .Setting("client_tls_sslmode", "prefer")
            .Setting("client_tls_cert_file", tls.ServerCertFile)
            .Setting("client_tls_key_file", tls.ServerKeyFile));

        var set = await host.ConsoleAsync("SET client_tls13_ciphers = 'unknown'");
        Assert.True(set.Success, set.ToString());
        Assert.Contains(Refused, set.StdErr, StringComparison.Ordinal);
        Assert.Contains("failed to set the TLSv1.3 cipher suites", host.LogTail(5), StringComparison.Ordinal);

        await using var conn = new NpgsqlConnection(host.ConnectionString(extra: "SSL Mode=Require;Trust Server Certificate=true"));
        await conn.OpenAsync();
        Assert.Equal(42, await conn.ScalarAsync<int>("SELECT 41 + 1"));
    }

    [Fact]
    public async Task ServerTlsChange_ReplacesIdleServers_OtherReloadsKeepThem()
    {
        await using var host = await TestPooler.StartOperationsAsync(fixture.Postgres, output);
        await using var conn = new NpgsqlConnection(host.ConnectionString());
        await conn.OpenAsync();
        var pid = await conn.ScalarAsync<int>("SELECT pg_backend_pid()");

        // Nothing about TLS changed: the server stays.
        var reload = await host.ConsoleAsync("RELOAD");
        Assert.True(reload.Success, reload.ToString());
        Assert.Equal(pid, await conn.ScalarAsync<int>("SELECT pg_backend_pid()"));

        var set = await host.ConsoleAsync("SET server_tls_sslmode = disable");
        Assert.True(set.Success, set.ToString());
        Assert.True(await Ops.UntilAsync(async () => !await BackendAliveAsync(pid), TimeSpan.FromSeconds(10)), "the idle server was not closed");
        Assert.Contains("database configuration changed", host.LogTail(10), StringComparison.Ordinal);
        Assert.NotEqual(pid, await conn.ScalarAsync<int>("SELECT pg_backend_pid()"));
    }

    [Fact]
    public async Task ServerTlsChange_ForgetsTheCachedLoginFailure()
    {
        await using var host = await TestPooler.StartOperationsAsync(fixture.Postgres, output, ini => ini
            .Setting("server_tls_sslmode", "disable")
            .Setting("server_login_retry", 300)
            .Database("ssldb", SslDatabase("127.0.0.1")));

        var first = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(host));
        Assert.Contains("no encryption", first.MessageText, StringComparison.Ordinal);
        var cached = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(host));
        Assert.Contains("server login has been failing, cached error", cached.MessageText, StringComparison.Ordinal);

        var set = await host.ConsoleAsync("SET server_tls_sslmode = require");
        Assert.True(set.Success, set.ToString());
        await using var conn = await OpenAsync(host);
        Assert.True(await conn.ScalarAsync<bool>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
    }

    [Fact]
    public async Task RefusedServerCertificate_KeepsTheClientWaiting_UntilTheCaIsFixed()
    {
        var otherCa = tls.Dir.WriteFile("change-other-ca.crt", File.ReadAllText(tls.ForeignClientCertFile));
        await using var host = await TestPooler.StartOperationsAsync(fixture.Postgres, output, ini => ini
            .Setting("server_tls_sslmode", "verify-ca")
            .Setting("server_tls_ca_file", otherCa)
            .Setting("server_login_retry", 1)
            .Database("ssldb", SslDatabase("localhost")));

        var open = OpenAsync(host, timeoutSeconds: 60);
        Assert.True(await Ops.UntilAsync(() => host.LogTail(20).Contains("certificate verify failed", StringComparison.Ordinal), TimeSpan.FromSeconds(20)),
            "no refused certificate in the log");
        await Task.Delay(1500);
        Assert.False(open.IsCompleted, "the client was not kept waiting");

        var set = await host.ConsoleAsync($"SET server_tls_ca_file = '{tls.CaFile}'");
        Assert.True(set.Success, set.ToString());
        await using var conn = await open.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(await conn.ScalarAsync<bool>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
    }

    private static async Task<NpgsqlConnection> OpenAsync(TestPooler host, int timeoutSeconds = 15)
    {
        var conn = new NpgsqlConnection(host.ConnectionString(database: "ssldb", extra: $"Timeout={timeoutSeconds.ToString(CultureInfo.InvariantCulture)}"));
        try
        {
            await conn.OpenAsync();
            return conn;
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }

    private async Task<bool> BackendAliveAsync(int pid) =>
        await fixture.Postgres.ScalarAsync<bool>($"SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = {pid.ToString(CultureInfo.InvariantCulture)}") == true;

    private string SslDatabase(string serverHost) =>
        $"host={serverHost} port={tls.SslPostgres.Port.ToString(CultureInfo.InvariantCulture)} dbname={PostgresInstance.AppDatabase}";
}
