using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Npgsql;
using Sluice.Config;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.IntegrationTests.Operations;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Transport;

/// <summary>
/// client_tls_* files are checked at start and re-read on RELOAD: a renewed certificate is served after RELOAD,
/// an unusable one fails the start with the setting and file named, and fails a RELOAD (F0000) whose other
/// settings still apply while the running TLS setup keeps serving, as PgBouncer does.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class TlsReloadTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private async Task<(TestPooler Host, string Cert, string Key)> StartAsync(TempDirectory dir, X509Certificate2 certificate)
    {
        var (cert, key) = WritePair(dir, certificate);
        var host = await TestPooler.StartOperationsAsync(fixture.Postgres, output, ini => ini
            .Setting("client_tls_sslmode", "prefer")   // prefer: the console below connects in plain text
            .Setting("client_tls_cert_file", cert)
            .Setting("client_tls_key_file", key));
        return (host, cert, key);
    }

    [Fact]
    public async Task Reload_ServesTheRenewedCertificate()
    {
        using var dir = TempDirectory.Create("sluice-tls-reload-");
        using var first = SelfSigned("first");
        using var renewed = SelfSigned("renewed");
        var (host, cert, key) = await StartAsync(dir, first);
        await using var _ = host;
        Assert.Equal(first.Thumbprint, await PresentedCertificateAsync(host.Port));

        File.WriteAllText(cert, renewed.ExportCertificatePem() + "\n");
        File.WriteAllText(key, renewed.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n");
        // Files are read per config snapshot: nothing changes until RELOAD.
        Assert.Equal(first.Thumbprint, await PresentedCertificateAsync(host.Port));

        var reload = await host.ConsoleAsync("RELOAD");
        Assert.True(reload.Success, reload.ToString());
        Assert.Equal(renewed.Thumbprint, await PresentedCertificateAsync(host.Port));
        await AssertTlsLoginAsync(host);
    }

    [Theory]
    [InlineData("garbage certificate")]
    [InlineData("missing key")]
    public async Task Reload_WithABrokenCertificate_Fails_AndKeepsServing(string breakage)
    {
        using var dir = TempDirectory.Create("sluice-tls-reload-");
        using var first = SelfSigned("first");
        var (host, cert, key) = await StartAsync(dir, first);
        await using var _ = host;
        await using var connected = new NpgsqlConnection(host.ConnectionString(extra: "SSL Mode=Require"));
        await connected.OpenAsync();

        string broken;
        if (breakage == "garbage certificate")
        {
            File.WriteAllText(cert, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
            broken = cert;
        }
        else
        {
            broken = key + ".gone";
            host.Ini.Setting("client_tls_key_file", broken);
            host.Ini.Setting("default_pool_size", 9);
            host.WriteIni();
        }

        var reload = await host.ConsoleAsync("RELOAD");
        Assert.False(reload.Success, reload.ToString());
        Assert.Contains("RELOAD failed", reload.StdErr, StringComparison.Ordinal);
        var log = host.LogTail(20);
        Assert.Contains("TLS configuration could not be reloaded, keeping old configuration", log, StringComparison.Ordinal);
        Assert.Contains(broken, log, StringComparison.Ordinal);
        Assert.Contains("client_tls", log, StringComparison.Ordinal);

        // The old TLS setup stays (its certificate, the connected client); the other settings are applied.
        Assert.Equal(first.Thumbprint, await PresentedCertificateAsync(host.Port));
        Assert.Equal(breakage == "missing key" ? "9" : "5", await Ops.ConfigValueAsync(host.ConsoleAsync, "default_pool_size"));
        Assert.Equal(42, await connected.ScalarAsync<int>("SELECT 41 + 1"));
        await AssertTlsLoginAsync(host);

        // A SET that points at an unusable file is taken with a notice, and TLS goes on with the old setup.
        var set = await host.ConsoleAsync("SET client_tls_cert_file = '/nonexistent/sluice.crt'");
        Assert.True(set.Success, set.ToString());
        Assert.Contains("TLS settings could not be applied, still using old configuration", set.StdErr, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/sluice.crt", host.LogTail(5), StringComparison.Ordinal);
        Assert.Equal(first.Thumbprint, await PresentedCertificateAsync(host.Port));
    }

    [Theory]
    [InlineData("garbage certificate")]
    [InlineData("missing key")]
    [InlineData("missing CA")]
    public async Task Start_WithABrokenTlsFile_FailsNamingTheSettingAndFile(string breakage)
    {
        using var dir = TempDirectory.Create("sluice-tls-start-");
        using var certificate = SelfSigned("start");
        var (cert, key) = WritePair(dir, certificate);
        string broken;
        Action<IniBuilder> configure;
        switch (breakage)
        {
            case "garbage certificate":
                broken = dir.WriteFile("garbage.crt", "not a certificate\n");
                configure = ini => ini.Setting("client_tls_sslmode", "prefer").Setting("client_tls_cert_file", broken).Setting("client_tls_key_file", key);
                break;
            case "missing key":
                broken = dir.File("missing.key");
                configure = ini => ini.Setting("client_tls_sslmode", "require").Setting("client_tls_cert_file", cert).Setting("client_tls_key_file", broken);
                break;
            default:
                broken = dir.File("missing-ca.crt");
                configure = ini => ini.Setting("server_tls_sslmode", "verify-ca").Setting("server_tls_ca_file", broken);
                break;
        }

        var e = await Assert.ThrowsAsync<ConfigException>(() => TestPooler.StartOperationsAsync(fixture.Postgres, output, configure));
        output.WriteLine(e.Message);
        Assert.StartsWith("TLS setup failed: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(broken, e.Message, StringComparison.Ordinal);
        Assert.Contains(breakage == "missing CA" ? "server_tls" : "client_tls", e.Message, StringComparison.Ordinal);
    }

    private static async Task AssertTlsLoginAsync(TestPooler host)
    {
        await using var conn = new NpgsqlConnection(host.ConnectionString(extra: "SSL Mode=Require"));
        await conn.OpenAsync();
        Assert.Equal(42, await conn.ScalarAsync<int>("SELECT 41 + 1"));
    }

    internal static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    internal static (string Cert, string Key) WritePair(TempDirectory dir, X509Certificate2 certificate, string name = "sluice")
    {
        var cert = dir.WriteFile(name + ".crt", certificate.ExportCertificatePem() + "\n");
        var key = dir.WriteFile(name + ".key", certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n");
        return (cert, key);
    }

    /// <summary>SSLRequest and a handshake that accepts anything: the thumbprint of the certificate Sluice presents now.</summary>
    internal static async Task<string> PresentedCertificateAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        var request = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(request, 8);
        BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(4), (1234 << 16) | 5679);
        await socket.SendAsync(request);
        var answer = new byte[1];
        Assert.Equal(1, await socket.ReceiveAsync(answer, SocketFlags.None, timeout.Token));
        Assert.Equal((byte)'S', answer[0]);
        await using var stream = new SslStream(new NetworkStream(socket, ownsSocket: false));
        await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }, timeout.Token);
        return stream.RemoteCertificate!.GetCertHashString();
    }
}
