using Sluice.Auth;
using Sluice.Config;
using Sluice.Transport;

namespace Sluice.Hosting;

/// <summary>
/// What one RELOAD (or SET, or the start) puts in force, published whole: the settings, auth_file, auth_hba_file,
/// auth_ident_file and the TLS setup. The pooler swaps it with one volatile write, so a login that takes it once
/// judges the client by one reload's files throughout, never by the new settings with the previous auth_file or
/// HBA rules (YARP's rule for hot-swapped configuration: an atomically replaced holder of an immutable value).
/// </summary>
internal sealed class ConfigSnapshot
{
    public ConfigSnapshot(PoolerConfig config, AuthFile authFile, HbaFile hba, IdentMap ident, TlsContexts? tls)
    {
        Config = config;
        AuthFile = authFile;
        Hba = hba;
        Ident = ident;
        Tls = tls;
    }

    public PoolerConfig Config { get; }

    public AuthFile AuthFile { get; }

    /// <summary>auth_hba_file, empty when not set.</summary>
    public HbaFile Hba { get; }

    /// <summary>auth_ident_file, empty when not set.</summary>
    public IdentMap Ident { get; }

    /// <summary>
    /// The TLS setup in use, which can be older than <see cref="Config"/>: new client_tls_* and server_tls_* settings
    /// replace it only when their files can all be used, as in PgBouncer. Null until the pooler has started.
    /// </summary>
    public TlsContexts? Tls { get; }

    /// <summary>The snapshot before the pooler loaded any file: the settings alone.</summary>
    public static ConfigSnapshot Unloaded(PoolerConfig config) => new(config, AuthFile.Empty, HbaFile.Empty, IdentMap.Empty, tls: null);
}
