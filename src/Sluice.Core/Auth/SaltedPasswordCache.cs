using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Sluice.Auth;

/// <summary>
/// Caches SCRAM SaltedPassword values (PBKDF2-HMAC-SHA-256). One derivation at 4096 iterations
/// costs about 2 ms of CPU, so a login storm would otherwise spend whole cores re-deriving the
/// same few keys. Bounded, thread-safe, and concurrent first requests for the same key share one
/// derivation.
/// </summary>
/// <remarks>
/// Entries are keyed by HMAC-SHA-256 under a per-process random key of (iterations, salt,
/// SASLprep'ed password), so no password is kept as a dictionary key, and keys are useless
/// outside this process. Eviction is two-generation: when the young generation is full it becomes
/// the old one and the previous old one is dropped; a hit in the old generation is promoted.
/// That approximates LRU without per-hit bookkeeping.
/// </remarks>
public static class SaltedPasswordCache
{
    /// <summary>Upper bound on cached entries (both generations together).</summary>
    public const int Capacity = 1024;

    private const int GenerationSize = Capacity / 2;

    private static readonly byte[] KeyingKey = RandomNumberGenerator.GetBytes(32);

    private static readonly Lock Gate = new();

    private static Dictionary<string, Lazy<byte[]>> young = new(StringComparer.Ordinal);

    private static Dictionary<string, Lazy<byte[]>> old = new(StringComparer.Ordinal);

    /// <summary>Number of cached entries; for tests and diagnostics.</summary>
    internal static int Count
    {
        get
        {
            lock (Gate)
            {
                return young.Count + old.Count;
            }
        }
    }

    /// <summary>
    /// Returns SaltedPassword = PBKDF2-HMAC-SHA-256(SASLprep(password), salt, iterations), 32 bytes.
    /// The caller gets its own copy and may clear it.
    /// </summary>
    public static byte[] Get(string password, byte[] salt, int iterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(salt);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);

        var prepared = ScramPrimitives.PreparePassword(password);
        try
        {
            var key = CacheKey(prepared, salt, iterations);
            Lazy<byte[]> entry;
            lock (Gate)
            {
                if (!young.TryGetValue(key, out entry!))
                {
                    if (old.Remove(key, out var promoted))
                    {
                        entry = promoted;
                    }
                    else
                    {
                        // The closure owns a private copy, because `prepared` is cleared below
                        // while another thread may still be running the derivation.
                        var passwordCopy = (byte[])prepared.Clone();
                        var saltCopy = (byte[])salt.Clone();
                        entry = new Lazy<byte[]>(
                            () =>
                            {
                                try
                                {
                                    return ScramPrimitives.ComputeSaltedPassword(passwordCopy, saltCopy, iterations);
                                }
                                finally
                                {
                                    CryptographicOperations.ZeroMemory(passwordCopy);
                                }
                            },
                            LazyThreadSafetyMode.ExecutionAndPublication);
                    }

                    if (young.Count >= GenerationSize)
                    {
                        old = young;
                        young = new Dictionary<string, Lazy<byte[]>>(StringComparer.Ordinal);
                    }

                    young[key] = entry;
                }
            }

            // PBKDF2 runs outside the lock so unrelated logins are not serialised behind it.
            return (byte[])entry.Value.Clone();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(prepared);
        }
    }

    /// <summary>Drops every entry, e.g. after the auth_file changed.</summary>
    public static void Clear()
    {
        lock (Gate)
        {
            young = new Dictionary<string, Lazy<byte[]>>(StringComparer.Ordinal);
            old = new Dictionary<string, Lazy<byte[]>>(StringComparer.Ordinal);
        }
    }

    private static string CacheKey(byte[] preparedPassword, byte[] salt, int iterations)
    {
        // Length-prefix the salt so (salt, password) boundaries cannot be shifted into a collision.
        var input = new byte[8 + salt.Length + preparedPassword.Length];
        BinaryPrimitives.WriteInt32LittleEndian(input, iterations);
        BinaryPrimitives.WriteInt32LittleEndian(input.AsSpan(4), salt.Length);
        salt.CopyTo(input, 8);
        preparedPassword.CopyTo(input, 8 + salt.Length);
        try
        {
            return Convert.ToBase64String(HMACSHA256.HashData(KeyingKey, input));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(input);
        }
    }
}
