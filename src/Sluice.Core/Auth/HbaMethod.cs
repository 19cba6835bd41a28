namespace Sluice.Auth;

/// <summary>
/// The authentication method column of an HBA rule. Only PgBouncer's HBA subset: its global
/// <c>auth_type</c> values except <c>any</c>/<c>pam</c>/<c>hba</c>, plus <c>peer</c> and <c>reject</c>.
/// </summary>
public enum HbaMethod
{
    /// <summary><c>trust</c>: no password (the user must still exist).</summary>
    Trust,

    /// <summary><c>reject</c>: refuse the connection.</summary>
    Reject,

    /// <summary><c>md5</c>: MD5 challenge (SCRAM if the stored secret is SCRAM).</summary>
    Md5,

    /// <summary><c>password</c>: cleartext password (PgBouncer's <c>plain</c>).</summary>
    Password,

    /// <summary><c>scram-sha-256</c>.</summary>
    ScramSha256,

    /// <summary><c>cert</c>: TLS client certificate name is the user (or mapped through <c>map=</c>).</summary>
    Cert,

    /// <summary><c>peer</c>: Unix-socket peer user is the user (or mapped through <c>map=</c>).</summary>
    Peer,
}
