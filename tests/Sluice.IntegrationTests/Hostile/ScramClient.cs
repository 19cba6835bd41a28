using System.Security.Cryptography;
using System.Text;

namespace Sluice.IntegrationTests.Hostile;

/// <summary>Client side of SCRAM-SHA-256 computed independently of Sluice's own implementation.</summary>
public static class ScramClient
{
    public static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));

    /// <summary>Parses "r=…,s=…,i=…".</summary>
    public static (string Nonce, byte[] Salt, int Iterations) ParseServerFirst(string serverFirst)
    {
        string? r = null, s = null, i = null;
        foreach (var part in serverFirst.Split(','))
        {
            if (part.StartsWith("r=", StringComparison.Ordinal))
            {
                r = part[2..];
            }
            else if (part.StartsWith("s=", StringComparison.Ordinal))
            {
                s = part[2..];
            }
            else if (part.StartsWith("i=", StringComparison.Ordinal))
            {
                i = part[2..];
            }
        }
        return (r!, Convert.FromBase64String(s!), int.Parse(i!, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The base64 ClientProof for the given messages (RFC 5802 §3).</summary>
    public static string Proof(string password, byte[] salt, int iterations, string clientFirstBare, string serverFirst, string clientFinalWithoutProof)
    {
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var authMessage = Encoding.UTF8.GetBytes($"{clientFirstBare},{serverFirst},{clientFinalWithoutProof}");
        var signature = HMACSHA256.HashData(storedKey, authMessage);
        var proof = new byte[clientKey.Length];
        for (var k = 0; k < proof.Length; k++)
        {
            proof[k] = (byte)(clientKey[k] ^ signature[k]);
        }
        return Convert.ToBase64String(proof);
    }
}
