using Sluice.Diagnostics;
using Sluice.Transport;

namespace Sluice.Hosting;

/// <summary>
/// The TLS setup in use, kept in the config snapshot but changed as PgBouncer changes it: RELOAD and SET always apply
/// the new settings, but the certificates, keys and CAs change only when the new client_tls_* and server_tls_*
/// settings can all be used; otherwise the previous TLS setup goes on serving.
/// </summary>
public sealed partial class Pooler
{
    /// <summary>The TLS setup clients are accepted with and servers are connected with.</summary>
    internal TlsContexts Tls => TlsOf(_snapshot);

    /// <summary>The snapshot's TLS setup; before the start, one built from its settings.</summary>
    internal TlsContexts TlsOf(ConfigSnapshot snapshot) => snapshot.Tls ?? TlsContexts.For(snapshot.Config, Logger);

    /// <summary>
    /// Whether a reload's TLS settings were put in use, or logs why they could not be and the old setup stays (false).
    /// When the server side changed, every server is replaced as soon as it is free, and a cached login failure is
    /// forgotten: it was met with the old settings.
    /// </summary>
    private bool TlsApplied(IReadOnlyList<string> errors, TlsContexts? previous, TlsContexts? next)
    {
        if (errors.Count > 0)
        {
            Log.ConfigWarning(Logger, "TLS configuration could not be reloaded, keeping old configuration: " + string.Join("; ", errors));
            return false;
        }
        if (previous is not null && next is not null && previous.ServerSideDiffersFrom(next))
        {
            foreach (var pool in Pools.All)
            {
                pool.ServerTlsChanged();
            }
        }
        return true;
    }

    /// <summary>Settings whose change needs the TLS setup rebuilt (SET rebuilds it only for these, as PgBouncer).</summary>
    internal static bool AffectsTls(string setting) =>
        setting.Contains("_tls_", StringComparison.Ordinal) || setting.Contains("_tls13_", StringComparison.Ordinal) || setting == "auth_type";
}
