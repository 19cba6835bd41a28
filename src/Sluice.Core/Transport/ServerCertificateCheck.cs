using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Sluice.Config;

namespace Sluice.Transport;

/// <summary>
/// The server certificate check of one TLS connection to PostgreSQL. It remembers why it refused the certificate,
/// because SslStream only reports that the callback said no, and the log line should say what was wrong
/// ("certificate verify failed: ..." as PgBouncer's log reads).
/// </summary>
internal sealed class ServerCertificateCheck(TlsMode mode, X509Certificate2Collection? ca, string host)
{
    /// <summary>Why the certificate was refused; null while it was not.</summary>
    public string? Failure { get; private set; }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        Failure = TlsContexts.ServerCertificateProblem(mode, ca, host, certificate, chain, errors);
        return Failure is null;
    }
}
