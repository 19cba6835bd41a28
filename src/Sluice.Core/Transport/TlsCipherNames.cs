using System.Net.Security;

namespace Sluice.Transport;

/// <summary>
/// Cipher suite names as PgBouncer shows them in SHOW CLIENTS/SERVERS (libtls's <c>tls_get_connection_info</c>):
/// OpenSSL names up to TLS 1.2 (<c>ECDHE-RSA-AES256-GCM-SHA384</c>), the standard names for TLS 1.3, which OpenSSL
/// uses unchanged (<c>TLS_AES_256_GCM_SHA384</c>). .NET reports the standard (IANA) names only.
/// </summary>
internal static class TlsCipherNames
{
    /// <summary>The OpenSSL name of <paramref name="suite"/>; a suite missing from the table keeps its standard name.</summary>
    public static string OpenSslName(TlsCipherSuite suite) => suite switch
    {
        // `openssl ciphers -stdname ALL` (OpenSSL 3.0), the suites OpenSSL enables by default.
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "ECDHE-RSA-AES256-GCM-SHA384",
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384 => "DHE-RSA-AES256-GCM-SHA384",
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-ECDSA-CHACHA20-POLY1305",
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-RSA-CHACHA20-POLY1305",
        TlsCipherSuite.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => "DHE-RSA-CHACHA20-POLY1305",
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "ECDHE-RSA-AES128-GCM-SHA256",
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 => "DHE-RSA-AES128-GCM-SHA256",
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384 => "ECDHE-ECDSA-AES256-SHA384",
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 => "ECDHE-RSA-AES256-SHA384",
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_CBC_SHA256 => "DHE-RSA-AES256-SHA256",
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 => "ECDHE-ECDSA-AES128-SHA256",
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256 => "ECDHE-RSA-AES128-SHA256",
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_CBC_SHA256 => "DHE-RSA-AES128-SHA256",
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA => "ECDHE-ECDSA-AES256-SHA",
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA => "ECDHE-RSA-AES256-SHA",
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_CBC_SHA => "DHE-RSA-AES256-SHA",
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA => "ECDHE-ECDSA-AES128-SHA",
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA => "ECDHE-RSA-AES128-SHA",
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_CBC_SHA => "DHE-RSA-AES128-SHA",
        TlsCipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384 => "AES256-GCM-SHA384",
        TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256 => "AES128-GCM-SHA256",
        TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA256 => "AES256-SHA256",
        TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256 => "AES128-SHA256",
        TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA => "AES256-SHA",
        TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA => "AES128-SHA",
        _ => suite.ToString(),
    };
}
