using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Sluice.Auth;

/// <summary>
/// Sluice as the SCRAM-SHA-256 client towards PostgreSQL: CreateClientFirst → TryHandleServerFirst
/// → VerifyServerFinal. Either from a plaintext password or, for SCRAM pass-through, from the
/// ClientKey recovered while the client authenticated to us plus the stored secret's ServerKey.
/// </summary>
/// <remarks>
/// No channel binding ("n,," header). Malformed or failing server messages return false with an
/// error text and never throw; calling the steps out of order throws
/// <see cref="InvalidOperationException"/>.
/// </remarks>
public sealed class ScramClientExchange
{
    private const string Gs2Header = "n,,";

    private readonly string? password;
    private readonly byte[]? passThroughClientKey;
    private readonly ScramSecret? passThroughSecret;
    private readonly string clientFirstBare;
    private readonly string clientNonce;
    private State state;
    private byte[] expectedServerSignature = [];

    private ScramClientExchange(string? password, byte[]? clientKey, ScramSecret? secret, string user, string clientNonce)
    {
        this.password = password;
        passThroughClientKey = clientKey;
        passThroughSecret = secret;
        this.clientNonce = clientNonce;
        clientFirstBare = "n=" + ScramPrimitives.EscapeSaslName(user) + ",r=" + clientNonce;
    }

    private enum State
    {
        Initial,
        SentClientFirst,
        SentClientFinal,
        Succeeded,
        Failed,
    }

    public static ScramClientExchange ForPassword(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        return new ScramClientExchange(password, null, null, string.Empty, ScramPrimitives.NewNonce());
    }

    /// <summary>
    /// Answers the server with keys instead of a password. Only works when PostgreSQL holds the very
    /// same secret (same salt and iterations); otherwise <see cref="TryHandleServerFirst"/> fails.
    /// </summary>
    public static ScramClientExchange ForPassThrough(byte[] clientKey, ScramSecret secret)
    {
        ArgumentNullException.ThrowIfNull(clientKey);
        ArgumentNullException.ThrowIfNull(secret);
        if (clientKey.Length != ScramPrimitives.KeyLength)
        {
            throw new ArgumentException("SCRAM-SHA-256 ClientKey must be 32 bytes long.", nameof(clientKey));
        }

        return new ScramClientExchange(null, (byte[])clientKey.Clone(), secret, string.Empty, ScramPrimitives.NewNonce());
    }

    /// <summary>Fixed user name and nonce, so tests can replay published exchanges (RFC 7677 §3).</summary>
    internal static ScramClientExchange ForPassword(string password, string user, string clientNonce)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(user);
        if (!ScramPrimitives.IsValidNonce(clientNonce))
        {
            throw new ArgumentException("Invalid SCRAM nonce.", nameof(clientNonce));
        }

        return new ScramClientExchange(password, null, null, user, clientNonce);
    }

    /// <summary>"n,,n=,r=&lt;nonce&gt;": PostgreSQL ignores the SCRAM user name, so it is left empty.</summary>
    public byte[] CreateClientFirst()
    {
        Expect(State.Initial);
        state = State.SentClientFirst;
        return Encoding.UTF8.GetBytes(Gs2Header + clientFirstBare);
    }

    /// <summary>
    /// Handles the server-first message (AuthenticationSASLContinue data): checks that the server's
    /// nonce extends ours and that the iteration count is at least 1, and returns client-final.
    /// </summary>
    public bool TryHandleServerFirst(ReadOnlySpan<byte> serverFirst, out byte[] clientFinal, out string? error)
    {
        Expect(State.SentClientFirst);
        clientFinal = [];
        state = State.Failed;
        if (!ScramPrimitives.TryDecode(serverFirst, out var text))
        {
            error = "malformed SCRAM server-first-message";
            return false;
        }

        var rest = text.AsSpan();
        if (rest.StartsWith("m=", StringComparison.Ordinal))
        {
            error = "SCRAM server requires an unsupported mandatory extension";
            return false;
        }

        if (!ScramPrimitives.TryReadAttribute(ref rest, 'r', out var nonce) || !ScramPrimitives.IsValidNonce(nonce))
        {
            error = "malformed SCRAM server-first-message: missing or invalid nonce";
            return false;
        }

        // The server must echo our nonce and append its own part; otherwise a replay is possible.
        if (nonce.Length <= clientNonce.Length || !nonce.StartsWith(clientNonce, StringComparison.Ordinal))
        {
            error = "SCRAM server nonce does not extend the client nonce";
            return false;
        }

        if (!ScramPrimitives.TryReadAttribute(ref rest, 's', out var saltText) || !ScramPrimitives.TryDecodeBase64(saltText, out var salt))
        {
            error = "malformed SCRAM server-first-message: missing or invalid salt";
            return false;
        }

        if (!ScramPrimitives.TryReadAttribute(ref rest, 'i', out var iterationsText)
            || !int.TryParse(iterationsText, NumberStyles.None, CultureInfo.InvariantCulture, out var iterations)
            || iterations < 1)
        {
            error = "malformed SCRAM server-first-message: missing or invalid iteration count";
            return false;
        }

        byte[] clientKey;
        byte[] serverKey;
        if (passThroughSecret is not null)
        {
            if (!passThroughSecret.HasSameSaltAndIterations(salt, iterations))
            {
                error = "SCRAM pass-through is not possible: the server's salt or iteration count differs from the stored secret";
                return false;
            }

            clientKey = (byte[])passThroughClientKey!.Clone();
            serverKey = passThroughSecret.ServerKey;
        }
        else
        {
            var salted = SaltedPasswordCache.Get(password!, salt, iterations);
            clientKey = ScramPrimitives.ClientKey(salted);
            serverKey = ScramPrimitives.ServerKey(salted);
            CryptographicOperations.ZeroMemory(salted);
        }

        var withoutProof = "c=" + Convert.ToBase64String(Encoding.UTF8.GetBytes(Gs2Header)) + ",r=" + nonce.ToString();
        var authMessage = ScramPrimitives.AuthMessage(clientFirstBare, text, withoutProof);
        var clientSignature = ScramPrimitives.Hmac(ScramPrimitives.StoredKey(clientKey), authMessage);
        var proof = ScramPrimitives.Xor(clientKey, clientSignature);
        CryptographicOperations.ZeroMemory(clientKey);
        expectedServerSignature = ScramPrimitives.Hmac(serverKey, authMessage);

        clientFinal = Encoding.UTF8.GetBytes(withoutProof + ",p=" + Convert.ToBase64String(proof));
        state = State.SentClientFinal;
        error = null;
        return true;
    }

    /// <summary>
    /// Verifies the server-final message (AuthenticationSASLFinal data): "v=ServerSignature" is
    /// compared in constant time; "e=..." is the server's error. Proves the server knew the secret.
    /// </summary>
    public bool VerifyServerFinal(ReadOnlySpan<byte> serverFinal, out string? error)
    {
        Expect(State.SentClientFinal);
        state = State.Failed;
        if (!ScramPrimitives.TryDecode(serverFinal, out var text))
        {
            error = "malformed SCRAM server-final-message";
            return false;
        }

        var rest = text.AsSpan();
        if (ScramPrimitives.TryReadAttribute(ref rest, 'e', out var serverError))
        {
            // Server error values are RFC 5802 tokens such as "invalid-proof"; nothing secret.
            error = "SCRAM server error: " + serverError.ToString();
            return false;
        }

        if (!ScramPrimitives.TryReadAttribute(ref rest, 'v', out var verifier)
            || !ScramPrimitives.TryDecodeBase64(verifier, out var signature))
        {
            error = "malformed SCRAM server-final-message";
            return false;
        }

        if (!CryptographicOperations.FixedTimeEquals(signature, expectedServerSignature))
        {
            error = "SCRAM server signature is invalid";
            return false;
        }

        state = State.Succeeded;
        error = null;
        return true;
    }

    private void Expect(State expected)
    {
        if (state != expected)
        {
            throw new InvalidOperationException($"SCRAM client exchange is in state {state}, expected {expected}.");
        }
    }
}
