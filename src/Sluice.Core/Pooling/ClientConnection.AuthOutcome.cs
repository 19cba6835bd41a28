using Sluice.Auth;
using Sluice.Diagnostics;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Pooling;

internal sealed partial class ClientConnection
{
    /// <summary>
    /// A SCRAM exchange that ended in a wrong proof, a wrong nonce or a user without a usable secret: PgBouncer's
    /// text, which does not tell the three apart (nor whether the user exists).
    /// </summary>
    private AuthResult? FailSasl()
    {
        Disconnect("SASL authentication failed", SqlState.InvalidPassword);
        return null;
    }

    /// <summary>
    /// An HBA cert rule with map=: a mapping of <paramref name="map"/> in <paramref name="ident"/> must name the certificate's common name as
    /// the system user and <paramref name="user"/> (or all) as the database user. The reason is logged in
    /// PgBouncer's words; the client only learns that certificate authentication failed.
    /// </summary>
    private AuthResult? CheckMappedCertificate(string user, string map, IdentMap ident)
    {
        string reason;
        if (_connection is not TlsConnection tls)
        {
            reason = "TLS connection required";
        }
        else if (tls.RemoteCertificate is not { } certificate)
        {
            reason = "TLS client certificate required";
        }
        else if (TlsContexts.CommonName(certificate) is { } name && ident.Allows(map, name, user))
        {
            return Authenticated;
        }
        else
        {
            reason = $"ident map: {map} does not have a match";
        }
        LoginLog.ClientAuthRefused(Pooler.Logger, Peer, reason);
        Disconnect("certificate authentication failed", SqlState.InvalidAuthorizationSpecification);
        return null;
    }
}
