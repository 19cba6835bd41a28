namespace Sluice.Config;

/// <summary>Maps the ini spellings of pool_mode, auth_type and *_tls_sslmode to the enums (case-insensitive, as PgBouncer's lookups are).</summary>
internal static class EnumNames
{
    public static bool TryParsePoolMode(string text, out PoolMode mode)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "session": mode = PoolMode.Session; return true;
            case "transaction": mode = PoolMode.Transaction; return true;
            case "statement": mode = PoolMode.Statement; return true;
            default: mode = default; return false;
        }
    }

    public static bool TryParseAuthType(string text, out AuthType type)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "trust": type = AuthType.Trust; return true;
            case "any": type = AuthType.Any; return true;
            case "plain": type = AuthType.Plain; return true;
            case "md5": type = AuthType.Md5; return true;
            case "scram-sha-256": type = AuthType.ScramSha256; return true;
            case "cert": type = AuthType.Cert; return true;
            case "hba": type = AuthType.Hba; return true;
            case "pam": type = AuthType.Pam; return true;
            case "ldap": type = AuthType.Ldap; return true;
            default: type = default; return false;
        }
    }

    public static bool TryParseTlsMode(string text, out TlsMode mode)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "disable": mode = TlsMode.Disable; return true;
            case "allow": mode = TlsMode.Allow; return true;
            case "prefer": mode = TlsMode.Prefer; return true;
            case "require": mode = TlsMode.Require; return true;
            case "verify-ca": mode = TlsMode.VerifyCa; return true;
            case "verify-full": mode = TlsMode.VerifyFull; return true;
            default: mode = default; return false;
        }
    }
}
