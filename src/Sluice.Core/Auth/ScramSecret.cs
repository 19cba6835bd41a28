using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Sluice.Auth;

/// <summary>
/// A PostgreSQL SCRAM-SHA-256 secret, "SCRAM-SHA-256$&lt;iterations&gt;:&lt;salt&gt;$&lt;StoredKey&gt;:&lt;ServerKey&gt;"
/// (base64 fields), as stored in pg_authid.rolpassword or an auth_file.
/// </summary>
/// <remarks>
/// StoredKey and ServerKey are sensitive: they permit an offline dictionary attack and
/// impersonating the server. The arrays are shared, not copied; treat them as read-only.
/// </remarks>
public sealed class ScramSecret : PasswordSecret
{
    private const string Prefix = ScramPrimitives.Mechanism + "$";

    /// <summary>Salt length PostgreSQL uses when it creates secrets.</summary>
    private const int DefaultSaltLength = 16;

    // Keys the per-user salts of ForPlainPassword/CreateMock; random per process so that salts are
    // stable within a run (cache hits, consistent mock challenges) but not predictable across installs.
    private static readonly byte[] SaltKey = RandomNumberGenerator.GetBytes(32);

    // Built on first use and kept with the secret; two threads racing build equal keys.
    private HmacSha256Key? _storedKeyHmac;
    private HmacSha256Key? _serverKeyHmac;

    public ScramSecret(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        ArgumentNullException.ThrowIfNull(salt);
        ArgumentNullException.ThrowIfNull(storedKey);
        ArgumentNullException.ThrowIfNull(serverKey);
        if (salt.Length == 0)
        {
            throw new ArgumentException("SCRAM salt must not be empty.", nameof(salt));
        }

        if (storedKey.Length != ScramPrimitives.KeyLength || serverKey.Length != ScramPrimitives.KeyLength)
        {
            throw new ArgumentException("SCRAM-SHA-256 keys must be 32 bytes long.");
        }

        Iterations = iterations;
        Salt = salt;
        StoredKey = storedKey;
        ServerKey = serverKey;
    }

    public int Iterations { get; }

    public byte[] Salt { get; }

    /// <summary>The salt in base64, as server-first sends it: encoded once per secret, not once per login.</summary>
    internal string SaltBase64 => field ??= Convert.ToBase64String(Salt);

    public byte[] StoredKey { get; }

    public byte[] ServerKey { get; }

    /// <summary>StoredKey as an HMAC key: the client signature of every login is computed with it.</summary>
    internal HmacSha256Key StoredKeyHmac => _storedKeyHmac ??= new HmacSha256Key(StoredKey);

    /// <summary>ServerKey as an HMAC key: the server signature of every login is computed with it.</summary>
    internal HmacSha256Key ServerKeyHmac => _serverKeyHmac ??= new HmacSha256Key(ServerKey);

    /// <summary>
    /// Derives the secret PostgreSQL would store for <paramref name="password"/> with the given salt
    /// and iteration count (password SASLprep'ed, see <see cref="SaltedPasswordCache"/>).
    /// </summary>
    public static ScramSecret FromPassword(string password, byte[] salt, int iterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(salt);
        var salted = SaltedPasswordCache.Get(password, salt, iterations);
        try
        {
            var clientKey = ScramPrimitives.ClientKey(salted);
            var storedKey = ScramPrimitives.StoredKey(clientKey);
            CryptographicOperations.ZeroMemory(clientKey);
            return new ScramSecret(iterations, (byte[])salt.Clone(), storedKey, ScramPrimitives.ServerKey(salted));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(salted);
        }
    }

    /// <summary>
    /// Builds the secret to run a SCRAM exchange for a user whose stored secret is a plaintext
    /// password. The salt is derived from the user name under a per-process random key: stable
    /// within this process, so repeated logins hit <see cref="SaltedPasswordCache"/> instead of
    /// paying PBKDF2 each time, yet not predictable by anyone outside it.
    /// </summary>
    public static ScramSecret ForPlainPassword(string user, string password, int iterations) =>
        FromPassword(password, SaltForUser(user), iterations);

    /// <summary>
    /// A secret for a user that does not exist: the challenge looks like a real one (stable salt per
    /// user name, like <see cref="ForPlainPassword"/>) but no proof can ever verify, because the keys
    /// are random. This keeps user existence from being revealed.
    /// </summary>
    public static ScramSecret CreateMock(string user, int iterations) =>
        new(iterations, SaltForUser(user), RandomNumberGenerator.GetBytes(ScramPrimitives.KeyLength), RandomNumberGenerator.GetBytes(ScramPrimitives.KeyLength));

    /// <summary>Parses the canonical text form; false (never an exception) for anything malformed.</summary>
    public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ScramSecret? secret)
    {
        ArgumentNullException.ThrowIfNull(text);
        secret = null;
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = text.AsSpan(Prefix.Length);
        var dollar = rest.IndexOf('$');
        if (dollar < 0)
        {
            return false;
        }

        var head = rest[..dollar];
        var keys = rest[(dollar + 1)..];
        var headColon = head.IndexOf(':');
        var keysColon = keys.IndexOf(':');
        if (headColon < 0 || keysColon < 0)
        {
            return false;
        }

        if (!int.TryParse(head[..headColon], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1)
        {
            return false;
        }

        if (!ScramPrimitives.TryDecodeBase64(head[(headColon + 1)..], out var salt)
            || !ScramPrimitives.TryDecodeBase64(keys[..keysColon], out var storedKey)
            || !ScramPrimitives.TryDecodeBase64(keys[(keysColon + 1)..], out var serverKey))
        {
            return false;
        }

        if (storedKey.Length != ScramPrimitives.KeyLength || serverKey.Length != ScramPrimitives.KeyLength)
        {
            return false;
        }

        secret = new ScramSecret(iterations, salt, storedKey, serverKey);
        return true;
    }

    /// <summary>The canonical "SCRAM-SHA-256$iter:salt$StoredKey:ServerKey" text, as PostgreSQL stores it.</summary>
    public override string ToString() =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"{Prefix}{Iterations}:{Convert.ToBase64String(Salt)}${Convert.ToBase64String(StoredKey)}:{Convert.ToBase64String(ServerKey)}");

    /// <summary>Pass-through needs the server to challenge with exactly the salt and iterations the keys were made with.</summary>
    internal bool HasSameSaltAndIterations(ReadOnlySpan<byte> salt, int iterations) =>
        iterations == Iterations && salt.SequenceEqual(Salt);

    private static byte[] SaltForUser(string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return HMACSHA256.HashData(SaltKey, Encoding.UTF8.GetBytes(user)).AsSpan(0, DefaultSaltLength).ToArray();
    }
}
