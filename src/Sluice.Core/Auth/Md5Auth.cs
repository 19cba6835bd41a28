using System.Security.Cryptography;
using System.Text;

namespace Sluice.Auth;

/// <summary>
/// PostgreSQL MD5 password authentication (AuthenticationMD5Password). MD5 is not FIPS compatible;
/// these paths fail on FIPS-enforcing systems and should be avoided where SCRAM is possible.
/// </summary>
public static class Md5Auth
{
    /// <summary>Length of a response or stored hash: "md5" + 32 hex digits.</summary>
    public const int ResponseLength = 35;

    /// <summary>Length of the salt in AuthenticationMD5Password.</summary>
    public const int SaltLength = 4;

    private const int HexLength = 32;

    /// <summary>The stored form PostgreSQL uses: "md5" + hex(md5(password + user)).</summary>
    public static string HashPassword(string password, string user)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(user);
        Span<byte> hex = stackalloc byte[HexLength];
        InnerHex(password, user, hex);
        return "md5" + Encoding.ASCII.GetString(hex);
    }

    /// <summary>
    /// Writes what a client sends in its PasswordMessage (without the terminating NUL):
    /// "md5" + hex(md5(hex(md5(password + user)) + salt)) into the first 35 bytes of
    /// <paramref name="dest35"/>. <paramref name="md5OrPlainSecretForUser"/> may be a plaintext
    /// password or a stored "md5…" hash (which is what lets a pooler answer MD5 challenges without
    /// knowing the password); like PostgreSQL, a plaintext password that looks exactly like an md5
    /// hash is taken as one.
    /// </summary>
    public static void ComputeResponse(string md5OrPlainSecretForUser, string user, ReadOnlySpan<byte> salt4, Span<byte> dest35)
    {
        ArgumentNullException.ThrowIfNull(md5OrPlainSecretForUser);
        ArgumentNullException.ThrowIfNull(user);
        if (salt4.Length != SaltLength)
        {
            throw new ArgumentException("MD5 salt must be 4 bytes long.", nameof(salt4));
        }

        if (dest35.Length < ResponseLength)
        {
            throw new ArgumentException("Destination must hold 35 bytes.", nameof(dest35));
        }

        Span<byte> input = stackalloc byte[HexLength + SaltLength];
        if (Md5Secret.IsMd5Hash(md5OrPlainSecretForUser))
        {
            Encoding.ASCII.GetBytes(md5OrPlainSecretForUser.AsSpan(3), input);
        }
        else
        {
            InnerHex(md5OrPlainSecretForUser, user, input);
        }

        salt4.CopyTo(input[HexLength..]);
        Span<byte> digest = stackalloc byte[MD5.HashSizeInBytes];
        MD5.HashData(input, digest);
        CryptographicOperations.ZeroMemory(input);

        "md5"u8.CopyTo(dest35);
        WriteHex(digest, dest35[3..ResponseLength]);
    }

    /// <summary>
    /// Checks a client's MD5 response against a stored plaintext or md5 secret in constant time.
    /// False for SCRAM secrets (MD5 cannot be verified against them; PgBouncer switches such users
    /// to SCRAM instead) and for an empty stored password, which must never grant access.
    /// A trailing NUL terminator in <paramref name="clientResponse"/> must be stripped by the caller.
    /// </summary>
    public static bool Verify(PasswordSecret stored, string user, ReadOnlySpan<byte> salt4, ReadOnlySpan<byte> clientResponse)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(user);
        if (salt4.Length != SaltLength)
        {
            return false;
        }

        var secret = stored switch
        {
            PlainSecret { Password.Length: > 0 } plain => plain.Password,
            Md5Secret md5 => md5.Hash,
            _ => null,
        };
        if (secret is null)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[ResponseLength];
        ComputeResponse(secret, user, salt4, expected);

        // FixedTimeEquals returns early only on a length mismatch, which reveals nothing secret.
        return CryptographicOperations.FixedTimeEquals(expected, clientResponse);
    }

    private static void InnerHex(string password, string user, Span<byte> hex32)
    {
        var bytes = Encoding.UTF8.GetBytes(password + user);
        Span<byte> digest = stackalloc byte[MD5.HashSizeInBytes];
        MD5.HashData(bytes, digest);
        CryptographicOperations.ZeroMemory(bytes);
        WriteHex(digest, hex32);
    }

    /// <summary>Lowercase hex as ASCII bytes, which is what PostgreSQL hashes and compares.</summary>
    private static void WriteHex(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        ReadOnlySpan<byte> digits = "0123456789abcdef"u8;
        for (var i = 0; i < source.Length; i++)
        {
            destination[2 * i] = digits[source[i] >> 4];
            destination[(2 * i) + 1] = digits[source[i] & 0xF];
        }
    }
}
