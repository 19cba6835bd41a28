namespace Sluice.Config;

/// <summary>libpq-style sslmode used for both client_tls_sslmode and server_tls_sslmode.</summary>
public enum TlsMode
{
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}
