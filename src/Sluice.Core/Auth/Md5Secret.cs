namespace Sluice.Auth;

/// <summary>
/// A PostgreSQL MD5 hash, "md5" + hex(md5(password + user)), exactly as stored. Only usable for MD5
/// authentication (not FIPS compatible), and only for the user name it was computed with.
/// </summary>
public sealed class Md5Secret : PasswordSecret
{
    internal const int Length = 35;

    public Md5Secret(string hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        if (!IsMd5Hash(hash))
        {
            throw new FormatException("Not an md5 password hash (expected \"md5\" followed by 32 lowercase hex digits).");
        }

        Hash = hash;
    }

    /// <summary>The stored text, "md5" followed by 32 lowercase hex digits.</summary>
    public string Hash { get; }

    // The hash is a password equivalent for MD5 authentication, so it is not rendered either.
    public override string ToString() => "Md5Secret";

    /// <summary>
    /// PostgreSQL only recognises lowercase hex here; anything else is treated as a plaintext
    /// password, and we must agree with it so that the same userlist means the same thing.
    /// </summary>
    internal static bool IsMd5Hash(ReadOnlySpan<char> s)
    {
        if (s.Length != Length || !s.StartsWith("md5", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in s[3..])
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}
