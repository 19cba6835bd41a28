using Sluice.Config;
using Sluice.Diagnostics;
using Sluice.Transport;

namespace Sluice.Hosting;

/// <summary>
/// The TLS setup in use, kept apart from the config snapshot as PgBouncer keeps it: RELOAD and SET always apply
/// the new settings, but the certificates, keys and CAs change only when the new client_tls_* and server_tls_*
/// settings can all be used; otherwise the previous TLS setup goes on serving.
/// </summary>
public sealed partial class Pooler
{
    private volatile TlsContexts? _tls;

    /// <summary>The TLS setup clients are accepted with and servers are connected with.</summary>
    internal TlsContexts Tls => _tls ?? TlsContexts.For(_config, Logger);

    /// <summary>
    /// Makes <paramref name="config"/>'s TLS settings the ones in use, or logs why they cannot be and keeps the old
    /// ones (false). When the server side changes, every server is replaced as soon as it is free, and a cached
    /// login failure is forgotten: it was met with the old settings.
    /// </summary>
    private bool ApplyTls(PoolerConfig config)
    {
        var errors = TlsContexts.Validate(config);
        if (errors.Count > 0)
        {
            Log.ConfigWarning(Logger, "TLS configuration could not be reloaded, keeping old configuration: " + string.Join("; ", errors));
            return false;
        }
        var next = TlsContexts.For(config);
        var previous = _tls;
        _tls = next;
        if (previous is not null && previous.ServerSideDiffersFrom(next))
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
