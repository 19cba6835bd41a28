using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sluice.Testing;

namespace Sluice.IntegrationTests.Transport;

/// <summary>
/// Certificates for the TLS tests, generated per run: a CA, a server certificate for "localhost" only (DNS SAN, no
/// IP address, so 127.0.0.1 is a wrong host name for verify-full), a client certificate with CN = app, and one from
/// another CA. Plus a second PostgreSQL with ssl = on and that server certificate, whose pg_hba only admits
/// TCP clients over TLS (hostssl; hostnossl is rejected).
/// </summary>
public sealed class TlsFixture : IAsyncLifetime
{
    public TempDirectory Dir { get; } = TempDirectory.Create("sluice-tls-");

    public string CaFile { get; private set; } = "";

    public string ServerCertFile { get; private set; } = "";

    public string ServerKeyFile { get; private set; } = "";

    public string ClientCertFile { get; private set; } = "";

    public string ClientKeyFile { get; private set; } = "";

    public string ForeignClientCertFile { get; private set; } = "";

    public string ForeignClientKeyFile { get; private set; } = "";

    public X509Certificate2 Ca { get; private set; } = null!;

    /// <summary>PostgreSQL with ssl = on; TCP logins only over TLS.</summary>
    public PostgresInstance SslPostgres { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Ca = CreateCa("Sluice Test CA");
        using var otherCa = CreateCa("Another CA");
        using var server = Issue(Ca, "localhost", ["localhost"], server: true);
        using var client = Issue(Ca, PostgresInstance.AppUser, [], server: false);
        using var foreign = Issue(otherCa, PostgresInstance.AppUser, [], server: false);

        CaFile = Dir.WriteFile("ca.crt", Ca.ExportCertificatePem() + "\n");
        (ServerCertFile, ServerKeyFile) = await WritePairAsync("server", server);
        (ClientCertFile, ClientKeyFile) = await WritePairAsync("client", client);
        (ForeignClientCertFile, ForeignClientKeyFile) = await WritePairAsync("foreign", foreign);

        // PostgreSQL wants its key owned by its own user and not readable by others.
        var (pgCert, pgKey) = await WritePairAsync("pg-server", server, ownedByServerUser: true);
        var options = new PostgresOptions();
        options.ExtraConfig.Add("ssl = on");
        options.ExtraConfig.Add($"ssl_cert_file = '{pgCert}'");
        options.ExtraConfig.Add($"ssl_key_file = '{pgKey}'");
        SslPostgres = await PostgresInstance.StartAsync(options);
        await File.WriteAllTextAsync(Path.Combine(SslPostgres.DataDir, "pg_hba.conf"),
            "local all all trust\n" +
            "hostnossl all all 127.0.0.1/32 reject\n" +
            "hostssl all all 127.0.0.1/32 scram-sha-256\n");
        await SslPostgres.ExecuteAsync("SELECT pg_reload_conf()");
    }

    public async Task DisposeAsync()
    {
        if (SslPostgres is not null)
        {
            await SslPostgres.DisposeAsync();
        }
        Ca?.Dispose();
        Dir.Dispose();
    }

    private async Task<(string Cert, string Key)> WritePairAsync(string name, X509Certificate2 certificate, bool ownedByServerUser = false)
    {
        var cert = Dir.WriteFile(name + ".crt", certificate.ExportCertificatePem() + "\n");
        var key = Dir.WriteFile(name + ".key", certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        if (ownedByServerUser)
        {
            await UnprivilegedUser.ChownAsync(key);
        }
        return (cert, key);
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string commonName, string[] dnsNames, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        if (dnsNames.Length > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var name in dnsNames)
            {
                san.AddDnsName(name);
            }
            request.CertificateExtensions.Add(san.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddMonths(6), serial);
        return issued.CopyWithPrivateKey(key);
    }
}
