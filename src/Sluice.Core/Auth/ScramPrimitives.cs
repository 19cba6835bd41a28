using System.Security.Cryptography;
using System.Text;

namespace Sluice.Auth;

/// <summary>The SCRAM-SHA-256 building blocks of RFC 5802 / RFC 7677 shared by both exchange sides.</summary>
internal static class ScramPrimitives
{
    internal const string Mechanism = "SCRAM-SHA-256";

    /// <summary>Length of SHA-256 output, and so of every SCRAM key, signature and proof.</summary>
    internal const int KeyLength = 32;

    /// <summary>Random bytes behind each side's nonce; 18 bytes encode to 24 base64 characters without padding.</summary>
    private const int NonceBytes = 18;

    private static ReadOnlySpan<byte> ClientKeyLabel => "Client Key"u8;

    private static ReadOnlySpan<byte> ServerKeyLabel => "Server Key"u8;

    /// <summary>
    /// SASLprep (RFC 4013) approximated by Unicode NFKC, as Npgsql does. Full SASLprep also maps
    /// non-ASCII spaces to U+0020, removes "mapped to nothing" characters and rejects prohibited
    /// ones; PostgreSQL falls back to the raw bytes whenever SASLprep fails, so passwords made of
    /// such characters may differ from what PostgreSQL derives. ASCII passwords (the vast majority)
    /// are unaffected, and invalid UTF-16 is used unchanged, like PostgreSQL's fallback.
    /// Caveat: with InvariantGlobalization=true (as Sluice builds) .NET has no Unicode data and
    /// string.Normalize returns non-ASCII text unchanged, so then a password that is not already
    /// in NFKC (e.g. fullwidth letters, ligatures, decomposed accents) is hashed as typed, while
    /// libpq/PostgreSQL would normalise it. See <see cref="NormalizationAvailable"/>.
    /// </summary>
    /// <summary>Whether this runtime really applies NFKC (false under InvariantGlobalization).</summary>
    internal static bool NormalizationAvailable { get; } =
        string.Equals("\u2163".Normalize(NormalizationForm.FormKC), "IV", StringComparison.Ordinal);

    internal static byte[] PreparePassword(string password)
    {
        var prepared = password;
        if (!Ascii.IsValid(password))
        {
            try
            {
                prepared = password.Normalize(NormalizationForm.FormKC);
            }
            catch (ArgumentException)
            {
                // Lone surrogates cannot be normalised; use the password as it is.
            }
        }

        return Encoding.UTF8.GetBytes(prepared);
    }

    internal static byte[] ComputeSaltedPassword(ReadOnlySpan<byte> preparedPassword, ReadOnlySpan<byte> salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(preparedPassword, salt, iterations, HashAlgorithmName.SHA256, KeyLength);

    internal static byte[] ClientKey(ReadOnlySpan<byte> saltedPassword) => Hmac(saltedPassword, ClientKeyLabel);

    internal static byte[] ServerKey(ReadOnlySpan<byte> saltedPassword) => Hmac(saltedPassword, ServerKeyLabel);

    internal static byte[] StoredKey(ReadOnlySpan<byte> clientKey)
    {
        var hash = new byte[KeyLength];
        Sha256.Hash(clientKey, hash);
        return hash;
    }

    internal static byte[] Hmac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> message) => new HmacSha256Key(key).Compute(message);

    internal static byte[] Xor(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var result = new byte[a.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = (byte)(a[i] ^ b[i]);
        }

        return result;
    }

    /// <summary>The AuthMessage of RFC 5802 §3 that both proofs and signatures are computed over.</summary>
    internal static byte[] AuthMessage(ReadOnlySpan<char> clientFirstBare, ReadOnlySpan<char> serverFirst, ReadOnlySpan<char> clientFinalWithoutProof)
    {
        var message = new byte[AuthMessageLength(clientFirstBare, serverFirst, clientFinalWithoutProof)];
        WriteAuthMessage(clientFirstBare, serverFirst, clientFinalWithoutProof, message);
        return message;
    }

    internal static int AuthMessageLength(ReadOnlySpan<char> clientFirstBare, ReadOnlySpan<char> serverFirst, ReadOnlySpan<char> clientFinalWithoutProof) =>
        Encoding.UTF8.GetByteCount(clientFirstBare) + Encoding.UTF8.GetByteCount(serverFirst) + Encoding.UTF8.GetByteCount(clientFinalWithoutProof) + 2;

    /// <summary>Encodes the AuthMessage into <paramref name="destination"/>, exactly <see cref="AuthMessageLength"/> bytes long.</summary>
    internal static void WriteAuthMessage(ReadOnlySpan<char> clientFirstBare, ReadOnlySpan<char> serverFirst, ReadOnlySpan<char> clientFinalWithoutProof, Span<byte> destination)
    {
        var written = Encoding.UTF8.GetBytes(clientFirstBare, destination);
        destination[written++] = (byte)',';
        written += Encoding.UTF8.GetBytes(serverFirst, destination[written..]);
        destination[written++] = (byte)',';
        Encoding.UTF8.GetBytes(clientFinalWithoutProof, destination[written..]);
    }

    internal static string NewNonce()
    {
        Span<byte> random = stackalloc byte[NonceBytes];
        SecureRandom.Fill(random);
        return Convert.ToBase64String(random);
    }

    /// <summary>RFC 5802 "printable": %x21-2B / %x2D-7E, i.e. visible ASCII except ','.</summary>
    internal static bool IsValidNonce(ReadOnlySpan<char> nonce)
    {
        if (nonce.IsEmpty)
        {
            return false;
        }

        foreach (var c in nonce)
        {
            if (c is < '\x21' or > '\x7e' or ',')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Messages are UTF-8; invalid input is reported as malformed rather than silently replaced.</summary>
    internal static bool TryDecode(ReadOnlySpan<byte> message, out string text)
    {
        if (message.IsEmpty || !System.Text.Unicode.Utf8.IsValid(message) || message.Contains((byte)0))
        {
            text = string.Empty;
            return false;
        }

        text = Encoding.UTF8.GetString(message);
        return true;
    }

    /// <summary>
    /// Reads the attribute "<paramref name="name"/>=value" at the start of <paramref name="rest"/>
    /// and advances past it and its trailing comma (if any).
    /// </summary>
    internal static bool TryReadAttribute(ref ReadOnlySpan<char> rest, char name, out ReadOnlySpan<char> value)
    {
        if (rest.Length < 2 || rest[0] != name || rest[1] != '=')
        {
            value = default;
            return false;
        }

        var end = rest.IndexOf(',');
        if (end < 0)
        {
            value = rest[2..];
            rest = [];
        }
        else
        {
            value = rest[2..end];
            rest = rest[(end + 1)..];
        }

        return true;
    }

    /// <summary>Decodes into <paramref name="destination"/>; false when the text is empty, not base64 or does not fit.</summary>
    internal static bool TryDecodeBase64(ReadOnlySpan<char> text, Span<byte> destination, out int written)
    {
        written = 0;
        return !text.IsEmpty && Convert.TryFromBase64Chars(text, destination, out written);
    }

    internal static bool TryDecodeBase64(ReadOnlySpan<char> text, out byte[] bytes)
    {
        var buffer = new byte[(text.Length * 3 / 4) + 3];
        if (!TryDecodeBase64(text, buffer, out var written))
        {
            bytes = [];
            return false;
        }

        bytes = buffer.AsSpan(0, written).ToArray();
        return true;
    }

    /// <summary>RFC 5802 saslname: ',' and '=' are escaped as "=2C" and "=3D".</summary>
    internal static string EscapeSaslName(string name) =>
        name.Replace("=", "=3D", StringComparison.Ordinal).Replace(",", "=2C", StringComparison.Ordinal);
}
