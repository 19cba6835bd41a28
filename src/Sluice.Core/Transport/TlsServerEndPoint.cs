using System.Formats.Asn1;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sluice.Transport;

/// <summary>
/// The <c>tls-server-end-point</c> channel binding of RFC 5929 §4.1: a hash of the TLS server's own certificate,
/// what a SCRAM-SHA-256-PLUS client proves it saw. The hash is the one the certificate was signed with, except
/// that MD5 and SHA-1 are replaced by SHA-256, as PostgreSQL's <c>be_tls_get_certificate_hash</c> does.
/// </summary>
internal static class TlsServerEndPoint
{
    private const string RsaPss = "1.2.840.113549.1.1.10";
    private const string Sha1 = "1.3.14.3.2.26";

    // Every connection to one listener shows the same certificate object, so the hash is computed once per certificate.
    private static readonly ConditionalWeakTable<X509Certificate, byte[]> s_cache = new();

    /// <summary>
    /// The channel binding data of <paramref name="certificate"/>, or null when its signature names no single hash
    /// (Ed25519, an unknown algorithm): then SCRAM-SHA-256-PLUS is simply not offered.
    /// </summary>
    public static byte[]? For(X509Certificate certificate)
    {
        if (s_cache.TryGetValue(certificate, out var cached))
        {
            return cached;
        }
        var raw = certificate.GetRawCertData();
        if (HashFor(raw) is not { } hash)
        {
            return null;
        }
        var computed = Compute(hash, raw);
        return s_cache.GetValue(certificate, _ => computed);
    }

    /// <summary>The hash RFC 5929 asks for, given the DER certificate; null when there is none.</summary>
    internal static HashAlgorithmName? HashFor(ReadOnlyMemory<byte> certificateDer)
    {
        string algorithm;
        string? pssHash = null;
        try
        {
            // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, signatureValue }
            var certificate = new AsnReader(certificateDer, AsnEncodingRules.DER).ReadSequence();
            certificate.ReadEncodedValue();
            var signatureAlgorithm = certificate.ReadSequence();
            algorithm = signatureAlgorithm.ReadObjectIdentifier();
            if (algorithm == RsaPss)
            {
                pssHash = PssHash(signatureAlgorithm);
            }
        }
        catch (AsnContentException)
        {
            return null;
        }

        return (pssHash ?? algorithm) switch
        {
            // MD5 and SHA-1 signatures are bound with SHA-256 (RFC 5929 §4.1).
            "1.2.840.113549.1.1.4" or "1.2.840.113549.1.1.5" or "1.2.840.10045.4.1" or "1.2.840.10040.4.3" or Sha1 => HashAlgorithmName.SHA256,
            "1.2.840.113549.1.1.11" or "1.2.840.10045.4.3.2" or "2.16.840.1.101.3.4.3.2" or "2.16.840.1.101.3.4.2.1" => HashAlgorithmName.SHA256,
            "1.2.840.113549.1.1.12" or "1.2.840.10045.4.3.3" or "2.16.840.1.101.3.4.2.2" => HashAlgorithmName.SHA384,
            "1.2.840.113549.1.1.13" or "1.2.840.10045.4.3.4" or "2.16.840.1.101.3.4.2.3" => HashAlgorithmName.SHA512,
            _ => null,
        };
    }

    internal static byte[] Compute(HashAlgorithmName hash, ReadOnlySpan<byte> certificateDer) => hash.Name switch
    {
        "SHA384" => SHA384.HashData(certificateDer),
        "SHA512" => SHA512.HashData(certificateDer),
        _ => SHA256.HashData(certificateDer),
    };

    /// <summary>RSASSA-PSS-params: <c>hashAlgorithm [0] AlgorithmIdentifier DEFAULT sha1</c> (RFC 4055 §3.1).</summary>
    private static string PssHash(AsnReader signatureAlgorithm)
    {
        if (!signatureAlgorithm.HasData)
        {
            return Sha1;
        }
        var parameters = signatureAlgorithm.ReadSequence();
        var hashTag = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
        if (!parameters.HasData || !parameters.PeekTag().HasSameClassAndValue(hashTag))
        {
            return Sha1;
        }
        return parameters.ReadSequence(hashTag).ReadSequence().ReadObjectIdentifier();
    }
}
