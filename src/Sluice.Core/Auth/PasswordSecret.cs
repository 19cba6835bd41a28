namespace Sluice.Auth;

/// <summary>
/// A stored secret as found in an auth_file (userlist.txt) or returned by auth_query:
/// a plaintext password, a PostgreSQL "md5…" hash, or a "SCRAM-SHA-256$…" secret.
/// </summary>
public abstract class PasswordSecret
{
    // Only the three known kinds exist; authentication code switches over them exhaustively.
    private protected PasswordSecret()
    {
    }

    /// <summary>
    /// Classifies a stored secret the way PostgreSQL does: "md5" followed by 32 lowercase hex digits
    /// is an MD5 hash, a well-formed "SCRAM-SHA-256$…" string is a SCRAM secret, and everything else
    /// (including a malformed SCRAM string) is a plaintext password.
    /// </summary>
    public static PasswordSecret Parse(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (Md5Secret.IsMd5Hash(secret))
        {
            return new Md5Secret(secret);
        }

        if (ScramSecret.TryParse(secret, out var scram))
        {
            return scram;
        }

        return new PlainSecret(secret);
    }
}
