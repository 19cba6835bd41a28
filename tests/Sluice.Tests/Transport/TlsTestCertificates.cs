using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sluice.Transport;

/// <summary>Throwaway ECDSA P-256 certificates for TLS tests: a CA and certificates it issues.</summary>
internal static class TlsTestCertificates
{
    public static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    /// <summary>A leaf certificate signed by <paramref name="ca"/>, with its private key.</summary>
    public static X509Certificate2 Issue(X509Certificate2 ca, string commonName, string[]? dnsNames = null, IPAddress[]? addresses = null, bool server = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        if (dnsNames is { Length: > 0 } || addresses is { Length: > 0 })
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var name in dnsNames ?? [])
            {
                san.AddDnsName(name);
            }
            foreach (var address in addresses ?? [])
            {
                san.AddIpAddress(address);
            }
            request.CertificateExtensions.Add(san.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddMonths(6), serial);
        return issued.CopyWithPrivateKey(key);
    }

    public static string CertificatePem(X509Certificate2 certificate) => certificate.ExportCertificatePem() + "\n";

    public static string KeyPem(X509Certificate2 certificate) => certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n";

    /// <summary>Writes cert and key PEM files into <paramref name="dir"/>; the key is 0600.</summary>
    public static (string Cert, string Key) WritePem(string dir, string name, X509Certificate2 certificate)
    {
        var cert = Path.Combine(dir, name + ".crt");
        var key = Path.Combine(dir, name + ".key");
        File.WriteAllText(cert, CertificatePem(certificate));
        File.WriteAllText(key, KeyPem(certificate));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return (cert, key);
    }
}
