namespace Sluice.Config;

/// <summary>How clients authenticate (ini values <c>trust any plain md5 scram-sha-256 cert hba pam ldap</c>).</summary>
public enum AuthType
{
    Trust,
    Any,
    Plain,
    Md5,
    ScramSha256,
    Cert,
    Hba,
    Pam,
    Ldap,
}
