namespace Sluice.Auth;

/// <summary>The first column of an HBA rule: which kind of client connection the rule applies to.</summary>
public enum HbaConnectionType
{
    /// <summary><c>local</c>: Unix-domain socket connections only.</summary>
    Local,

    /// <summary><c>host</c>: TCP connections, with or without TLS.</summary>
    Host,

    /// <summary><c>hostssl</c>: TCP connections that negotiated TLS.</summary>
    HostSsl,

    /// <summary><c>hostnossl</c>: TCP connections without TLS.</summary>
    HostNoSsl,
}
