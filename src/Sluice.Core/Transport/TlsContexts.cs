using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Sluice.Config;
using Sluice.Diagnostics;

namespace Sluice.Transport;

/// <summary>
/// The TLS options of one config snapshot: what is presented to clients (client_tls_*) and how servers are
/// checked (server_tls_*). Built once per snapshot and cached on it, so RELOAD (a new snapshot) re-reads the
/// certificate, key and CA files, as PgBouncer does. Problems are kept as messages, never thrown at a caller
/// that only wanted to know whether TLS is on. The pooler serves the last contexts built without problems
/// (<see cref="Hosting.Pooler.Tls"/>), which can be older than the running snapshot when its files were unusable.
/// </summary>
internal sealed class TlsContexts
{
    public static readonly SslApplicationProtocol Alpn = new("postgresql");

    private static readonly ConditionalWeakTable<PoolerConfig, TlsContexts> s_cache = new();

    private readonly X509Certificate2Collection? _clientCa;
    private readonly X509Certificate2Collection? _serverCa;
    private readonly SslStreamCertificateContext? _serverSideCertificate;
    private readonly string _serverSignature = nameof(TlsMode.Disable);

    private TlsContexts(PoolerConfig config, ILogger? logger)
    {
        ClientMode = config.ClientTlsSslMode;
        ServerMode = config.ServerTlsSslMode;
        RequestClientCertificateForAuth = config.AuthType == AuthType.Cert;
        if (ClientMode != TlsMode.Disable)
        {
            ClientError = BuildClientSide(config, out _clientCa);
            if (ClientError is not null && logger is not null)
            {
                Log.ConfigWarning(logger, "TLS to clients is off: " + ClientError);
            }
        }
        if (ServerMode != TlsMode.Disable)
        {
            ServerError = BuildServerSide(config, out _serverCa, out _serverSideCertificate, out var protocols, out var ciphers);
            ServerProtocols = protocols;
            ServerCiphers = ciphers;
            _serverSignature = ServerSignature(config, protocols, _serverCa, _serverSideCertificate);
            if (ServerError is not null && logger is not null)
            {
                Log.ConfigWarning(logger, "TLS to servers cannot be used: " + ServerError);
            }
        }
    }

    public TlsMode ClientMode { get; }

    public TlsMode ServerMode { get; }

    /// <summary>Options for accepting TLS from clients; null when client_tls_sslmode is disable or the setup failed.</summary>
    public SslServerAuthenticationOptions? ClientOptions { get; private set; }

    /// <summary>Why TLS to clients is unavailable although client_tls_sslmode asks for it.</summary>
    public string? ClientError { get; }

    /// <summary>Why TLS to servers is unavailable although server_tls_sslmode asks for it.</summary>
    public string? ServerError { get; }

    private bool RequestClientCertificateForAuth { get; }

    private SslProtocols ServerProtocols { get; }

    private CipherSuitesPolicy? ServerCiphers { get; }

    /// <summary>The contexts of <paramref name="config"/>, built on first use.</summary>
    public static TlsContexts For(PoolerConfig config, ILogger? logger = null)
    {
        if (s_cache.TryGetValue(config, out var cached))
        {
            return cached;
        }
        var built = new TlsContexts(config, logger);
        return s_cache.GetValue(config, _ => built);
    }

    /// <summary>
    /// Whether servers connected with these settings would be connected differently with <paramref name="other"/>'s:
    /// another server_tls_sslmode, protocols, ciphers, CA or certificate (by file name and content, as PgBouncer
    /// compares). When so, the running servers are replaced, so no connection keeps older, maybe weaker, settings.
    /// </summary>
    public bool ServerSideDiffersFrom(TlsContexts other) => !string.Equals(_serverSignature, other._serverSignature, StringComparison.Ordinal);

    private static string ServerSignature(PoolerConfig config, SslProtocols protocols, X509Certificate2Collection? ca, SslStreamCertificateContext? certificate)
    {
        var parts = new List<string>
        {
            config.ServerTlsSslMode.ToString(), protocols.ToString(), config.ServerTlsCiphers, config.ServerTls13Ciphers ?? "",
            config.ServerTlsCaFile, config.ServerTlsCertFile, config.ServerTlsKeyFile, certificate?.TargetCertificate.Thumbprint ?? "",
        };
        if (ca is not null)
        {
            parts.AddRange(ca.Select(c => c.Thumbprint));
        }
        return string.Join('\n', parts);
    }

    /// <summary>Client-facing options when TLS may be offered to clients, else null (SSLRequest is answered 'N').</summary>
    public static SslServerAuthenticationOptions? ForClients(PoolerConfig config, ILogger? logger = null) =>
        config.ClientTlsSslMode == TlsMode.Disable ? null : For(config, logger).ClientOptions;

    /// <summary>
    /// Every problem the TLS settings have, for the check at start and RELOAD (empty when fine). The contexts
    /// built here are the ones the snapshot then uses, so the files are read once and what was checked is served.
    /// </summary>
    public static IReadOnlyList<string> Validate(PoolerConfig config)
    {
        // No logger: the caller reports the problems (and refuses the snapshot), a warning would repeat them.
        var contexts = s_cache.GetValue(config, static c => new TlsContexts(c, null));
        var errors = new List<string>();
        if (contexts.ClientError is not null)
        {
            errors.Add(contexts.ClientError);
        }
        if (contexts.ServerError is not null)
        {
            errors.Add(contexts.ServerError);
        }
        return errors;
    }

    /// <summary>
    /// Options for one TLS connection to a PostgreSQL server at <paramref name="host"/> (the name verify-full checks).
    /// Throws <see cref="AuthenticationException"/> with the setup problem when the server_tls_* files are unusable.
    /// </summary>
    public SslClientAuthenticationOptions ForServer(string host) => ForServer(host, out _);

    /// <summary>As <see cref="ForServer(string)"/>, with the check that tells why a certificate was refused.</summary>
    public SslClientAuthenticationOptions ForServer(string host, out ServerCertificateCheck check)
    {
        if (ServerError is not null)
        {
            throw new AuthenticationException(ServerError);
        }
        check = new ServerCertificateCheck(ServerMode, _serverCa, host);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = host,
            EnabledSslProtocols = ServerProtocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ApplicationProtocols = [Alpn],
            ClientCertificateContext = _serverSideCertificate,
            RemoteCertificateValidationCallback = check.Validate,
        };
        if (ServerCiphers is not null && OperatingSystem.IsLinux())
        {
            options.CipherSuitesPolicy = ServerCiphers;
        }
        return options;
    }

    /// <summary>
    /// allow/prefer/require accept any server certificate (PgBouncer does not verify below verify-ca);
    /// verify-ca checks the chain against server_tls_ca_file (the system roots when unset); verify-full also the host name.
    /// </summary>
    internal static bool CheckServerCertificate(TlsMode mode, X509Certificate2Collection? ca, string host, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        ServerCertificateProblem(mode, ca, host, certificate, chain, errors) is null;

    /// <summary>Why a server certificate is refused (for the log line), or null when it is accepted.</summary>
    internal static string? ServerCertificateProblem(TlsMode mode, X509Certificate2Collection? ca, string host, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (mode < TlsMode.VerifyCa)
        {
            return null;
        }
        if (certificate is not X509Certificate2 cert)
        {
            return "the server sent no certificate";
        }
        if (ca is null)
        {
            if ((errors & (SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
            {
                return "the certificate is not trusted by the system's root certificates";
            }
        }
        else if (!ChainsTo(cert, ca, chain))
        {
            return "the certificate does not chain to server_tls_ca_file";
        }
        return mode != TlsMode.VerifyFull || MatchesHost(cert, host) ? null : $"the certificate does not match host name \"{host}\"";
    }

    /// <summary>verify-full: the subjectAltName DNS names or IP addresses, or the common name when there are none.</summary>
    private static bool MatchesHost(X509Certificate2 certificate, string host)
    {
        try
        {
            return certificate.MatchesHostname(host, allowWildcards: true, allowCommonName: true);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// A client certificate, when one is sent, must chain to client_tls_ca_file (the system roots when unset), or
    /// the handshake fails. A missing one passes here: verify-ca and verify-full refuse it after the startup packet
    /// with an error the client can read (<see cref="LoginRequirementError"/>), as PostgreSQL does.
    /// PgBouncer checks no host name on client certificates, so verify-full behaves as verify-ca.
    /// </summary>
    internal static bool CheckClientCertificate(X509Certificate2Collection? ca, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is not X509Certificate2 cert)
        {
            return true;
        }
        return ca is null
            ? (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0
            : ChainsTo(cert, ca, chain);
    }

    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection roots, X509Chain? presented)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        if (presented is not null)
        {
            // Intermediates the peer sent with its certificate.
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
        }
        return chain.Build(certificate);
    }

    /// <summary>The user name auth_type = cert takes from a client certificate: its subject's common name.</summary>
    public static string? CommonName(X509Certificate2 certificate)
    {
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.GetSingleElementType().Value == "2.5.4.3")
            {
                return rdn.GetSingleElementValue();
            }
        }
        return null;
    }

    /// <summary>
    /// What client_tls_sslmode demands of a TCP client once its startup packet is in: TLS from require on
    /// ("SSL required", PgBouncer's text), a valid client certificate from verify-ca on. Null when satisfied.
    /// </summary>
    public static string? LoginRequirementError(Connection connection, TlsMode mode)
    {
        if (mode < TlsMode.Require)
        {
            return null;
        }
        if (connection is not TlsConnection tls)
        {
            return "SSL required";
        }
        return mode >= TlsMode.VerifyCa && tls.RemoteCertificate is null ? "connection requires a valid client certificate" : null;
    }

    /// <summary>auth_type = cert: null when the connection's client certificate names <paramref name="user"/>, else the error.</summary>
    public static string? CertificateUserError(Connection connection, string user)
    {
        if (connection is not TlsConnection tls)
        {
            return "TLS connection required for certificate authentication";
        }
        if (tls.RemoteCertificate is not { } certificate)
        {
            return "TLS client certificate required";
        }
        return CommonName(certificate) == user ? null : "TLS certificate name mismatch";
    }

    private string? BuildClientSide(PoolerConfig config, out X509Certificate2Collection? ca)
    {
        ca = null;
        if (string.IsNullOrEmpty(config.ClientTlsCertFile) || string.IsNullOrEmpty(config.ClientTlsKeyFile))
        {
            return "client_tls_sslmode is not disable but client_tls_cert_file and client_tls_key_file are not both set";
        }
        if (!TryParseProtocols(config.ClientTlsProtocols, out var protocols, out var error)
            || !TryParseCiphers(config.ClientTls13Ciphers, protocols, out var ciphers, out error)
            || !TryLoadCertificate(config.ClientTlsCertFile, config.ClientTlsKeyFile, out var context, out error)
            || !TryLoadCa(config.ClientTlsCaFile, out ca, out error))
        {
            return "client_tls: " + error;
        }
        var mode = ClientMode;
        var roots = ca;
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = context,
            EnabledSslProtocols = protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ApplicationProtocols = [Alpn],
            // A certificate is asked for when it is required, can be checked against a CA, or is the login.
            ClientCertificateRequired = mode >= TlsMode.VerifyCa || roots is not null || RequestClientCertificateForAuth,
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) => CheckClientCertificate(roots, certificate, chain, errors),
        };
        if (ciphers is not null && OperatingSystem.IsLinux())
        {
            options.CipherSuitesPolicy = ciphers;
        }
        ClientOptions = options;
        return null;
    }

    private static string? BuildServerSide(
        PoolerConfig config,
        out X509Certificate2Collection? ca,
        out SslStreamCertificateContext? certificate,
        out SslProtocols protocols,
        out CipherSuitesPolicy? ciphers)
    {
        ca = null;
        certificate = null;
        ciphers = null;
        if (!TryParseProtocols(config.ServerTlsProtocols, out protocols, out var error)
            || !TryParseCiphers(config.ServerTls13Ciphers, protocols, out ciphers, out error)
            || !TryLoadCa(config.ServerTlsCaFile, out ca, out error))
        {
            return "server_tls: " + error;
        }
        // server_tls_cert_file/key_file: the certificate Sluice shows PostgreSQL (clientcert=verify-ca / cert auth).
        // SET changes them one at a time, so one without the other is no error, as in PgBouncer: nothing is
        // presented until both are set.
        if (!string.IsNullOrEmpty(config.ServerTlsCertFile) && !string.IsNullOrEmpty(config.ServerTlsKeyFile)
            && !TryLoadCertificate(config.ServerTlsCertFile, config.ServerTlsKeyFile, out certificate, out error))
        {
            return "server_tls: " + error;
        }
        return null;
    }

    private static bool TryLoadCertificate(string certFile, string keyFile, out SslStreamCertificateContext? context, out string? error)
    {
        context = null;
        try
        {
            var certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            // Any further certificates in the file are intermediates sent along with it.
            var all = new X509Certificate2Collection();
            all.ImportFromPemFile(certFile);
            var intermediates = new X509Certificate2Collection();
            for (var i = 1; i < all.Count; i++)
            {
                intermediates.Add(all[i]);
            }
            context = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
            error = null;
            return true;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            error = $"cannot load certificate {certFile} with key {keyFile}: {e.Message}";
            return false;
        }
    }

    private static bool TryLoadCa(string caFile, out X509Certificate2Collection? ca, out string? error)
    {
        ca = null;
        error = null;
        if (string.IsNullOrEmpty(caFile))
        {
            return true;
        }
        try
        {
            var collection = new X509Certificate2Collection();
            collection.ImportFromPemFile(caFile);
            if (collection.Count == 0)
            {
                error = $"no certificates in {caFile}";
                return false;
            }
            ca = collection;
            return true;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            error = $"cannot load CA file {caFile}: {e.Message}";
            return false;
        }
    }

    /// <summary>
    /// *_tls_protocols as PgBouncer (libtls) reads it: names separated by ',' or ':', each optionally negated with
    /// '!' or '-': <c>tlsv1.0 tlsv1.1 tlsv1.2 tlsv1.3</c>, <c>all</c>/<c>legacy</c> (all four), <c>secure</c>/<c>default</c> (1.2 and 1.3).
    /// </summary>
    internal static bool TryParseProtocols(string? text, out SslProtocols protocols, out string? error)
    {
#pragma warning disable SYSLIB0039 // TLS 1.0 and 1.1 are offered only when the setting asks for them, as in PgBouncer
        const SslProtocols all = SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13;
        const SslProtocols secure = SslProtocols.Tls12 | SslProtocols.Tls13;
        protocols = SslProtocols.None;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            protocols = secure;
            return true;
        }
        foreach (var raw in text.Split([',', ':', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            var token = raw;
            var negate = false;
            if (token[0] is '!' or '-')
            {
                negate = true;
                token = token[1..];
            }
            else if (token[0] == '+')
            {
                token = token[1..];
            }
            SslProtocols value = token.ToLowerInvariant() switch
            {
                "all" or "legacy" => all,
                "secure" or "default" => secure,
                "tlsv1.0" or "tlsv1" => SslProtocols.Tls,
                "tlsv1.1" => SslProtocols.Tls11,
                "tlsv1.2" => SslProtocols.Tls12,
                "tlsv1.3" => SslProtocols.Tls13,
                _ => SslProtocols.None,
            };
#pragma warning restore SYSLIB0039
            if (value == SslProtocols.None)
            {
                error = $"invalid TLS protocol \"{raw}\" in \"{text}\"";
                return false;
            }
            protocols = negate ? protocols & ~value : protocols | value;
        }
        if (protocols == SslProtocols.None)
        {
            error = $"no TLS protocol left in \"{text}\"";
            return false;
        }
        return true;
    }

    /// <summary>
    /// *_tls13_ciphers: a ':'-separated list of TLS 1.3 suites (<c>TLS_AES_256_GCM_SHA384</c>, …), applied on Linux
    /// with a <see cref="CipherSuitesPolicy"/>. A policy lists TLS 1.2 suites too, so when TLS 1.2 is enabled the
    /// ECDHE AEAD suites are added for it. Unset: the system's default (null).
    /// </summary>
    internal static bool TryParseCiphers(string? tls13, SslProtocols protocols, out CipherSuitesPolicy? policy, out string? error)
    {
        policy = null;
        error = null;
        if (string.IsNullOrWhiteSpace(tls13) || !OperatingSystem.IsLinux())
        {
            return true;
        }
        var suites = new List<TlsCipherSuite>();
        foreach (var name in tls13.Split([':', ',', ' '], StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Enum.TryParse<TlsCipherSuite>(name, ignoreCase: false, out var suite) || !name.StartsWith("TLS_", StringComparison.Ordinal))
            {
                // The words of PgBouncer's log line (libtls), which operators and tests look for.
                error = $"failed to set the TLSv1.3 cipher suites: unknown suite \"{name}\"";
                return false;
            }
            suites.Add(suite);
        }
        if ((protocols & ~SslProtocols.Tls13) != SslProtocols.None)
        {
            suites.AddRange(DefaultTls12Suites);
        }
        policy = new CipherSuitesPolicy(suites);
        return true;
    }

    private static readonly TlsCipherSuite[] DefaultTls12Suites =
    [
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ];
}
