using System.Formats.Asn1;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sluice.Transport;

/// <summary>RFC 5929 tls-server-end-point: the certificate's own signature hash, SHA-256 for MD5 and SHA-1.</summary>
public sealed class TlsServerEndPointTests
{
    [Theory]
    [InlineData("SHA256", "SHA256")]
    [InlineData("SHA384", "SHA384")]
    [InlineData("SHA512", "SHA512")]
    public void Ecdsa_UsesTheSignatureHash(string signedWith, string expected)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest("CN=ecdsa", key, new HashAlgorithmName(signedWith)).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        AssertEndPoint(certificate, expected);
    }

    [Theory]
    [InlineData("SHA256", "SHA256")]
    [InlineData("SHA384", "SHA384")]
    [InlineData("SHA512", "SHA512")]
    public void RsaPkcs1_UsesTheSignatureHash(string signedWith, string expected)
    {
        using var key = RSA.Create(2048);
        using var certificate = new CertificateRequest("CN=rsa", key, new HashAlgorithmName(signedWith), RSASignaturePadding.Pkcs1).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        AssertEndPoint(certificate, expected);
    }

    [Theory]
    [InlineData("SHA256", "SHA256")]
    [InlineData("SHA384", "SHA384")]
    public void RsaPss_UsesTheHashInTheParameters(string signedWith, string expected)
    {
        using var key = RSA.Create(2048);
        using var certificate = new CertificateRequest("CN=pss", key, new HashAlgorithmName(signedWith), RSASignaturePadding.Pss).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        Assert.Equal("1.2.840.113549.1.1.10", certificate.SignatureAlgorithm.Value);
        AssertEndPoint(certificate, expected);
    }

    /// <summary>.NET no longer signs with MD5 or SHA-1, so these certificates are only their outer structure.</summary>
    [Theory]
    [InlineData("1.2.840.113549.1.1.4", "SHA256")]    // md5WithRSAEncryption
    [InlineData("1.2.840.113549.1.1.5", "SHA256")]    // sha1WithRSAEncryption
    [InlineData("1.2.840.10045.4.1", "SHA256")]       // ecdsa-with-SHA1
    [InlineData("1.2.840.113549.1.1.12", "SHA384")]   // sha384WithRSAEncryption
    [InlineData("1.3.101.112", null)]                 // Ed25519: no hash of its own, so no binding
    [InlineData("1.2.3.4", null)]
    public void WeakOrUnknownSignatures(string signatureOid, string? expected)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence())
            {
                writer.WriteInteger(1);   // stands in for tbsCertificate
            }
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(signatureOid);
            }
            writer.WriteBitString([1, 2, 3]);
        }
        var hash = TlsServerEndPoint.HashFor(writer.Encode());
        Assert.Equal(expected, hash?.Name);
    }

    [Fact]
    public void NotACertificate_HasNoEndPoint()
    {
        Assert.Null(TlsServerEndPoint.HashFor(new byte[] { 0x30, 0x03, 0x02, 0x01, 0x01 }));
        Assert.Null(TlsServerEndPoint.HashFor(ReadOnlyMemory<byte>.Empty));
    }

    [Fact]
    public void SameCertificate_SameBytes()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest("CN=cache", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        Assert.Same(TlsServerEndPoint.For(certificate), TlsServerEndPoint.For(certificate));
    }

    [Theory]
    [InlineData(TlsCipherSuite.TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384")]
    [InlineData(TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256")]
    [InlineData(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384")]
    [InlineData(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305")]
    [InlineData(TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA")]
    public void CipherNames_AreOpenSsls(TlsCipherSuite suite, string expected)
    {
        Assert.Equal(expected, TlsCipherNames.OpenSslName(suite));
    }

    private static void AssertEndPoint(X509Certificate2 certificate, string expected)
    {
        var raw = certificate.RawData;
        Assert.Equal(new HashAlgorithmName(expected), TlsServerEndPoint.HashFor(raw));
        var hash = expected switch
        {
            "SHA384" => SHA384.HashData(raw),
            "SHA512" => SHA512.HashData(raw),
            _ => SHA256.HashData(raw),
        };
        Assert.Equal(hash, TlsServerEndPoint.For(certificate));
    }
}
