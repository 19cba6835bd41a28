using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Sluice.Auth;

/// <summary>
/// Sluice as the SCRAM-SHA-256 server towards a client (RFC 5802 / RFC 7677, PostgreSQL dialect).
/// One instance per authentication attempt: client-first → server-first, client-final → server-final.
/// </summary>
/// <remarks>
/// As in PostgreSQL, the user name inside client-first is ignored (the startup packet's user
/// counts), authorization identities and mandatory extensions are refused, and only the gs2 flags
/// "n" and "y" are accepted: we never advertise SCRAM-SHA-256-PLUS, so a client asking for channel
/// binding ("p=") is refused rather than negotiated. Malformed or failing input returns false with
/// an error text that contains no secret and never throws; calling the steps out of order is a
/// programming error and throws <see cref="InvalidOperationException"/>. After a failure the
/// exchange is finished.
/// </remarks>
public sealed class ScramServerExchange
{
    /// <summary>The SASL mechanism name to advertise in AuthenticationSASL.</summary>
    public const string MechanismName = ScramPrimitives.Mechanism;

    private readonly ScramSecret secret;
    private readonly string serverNonce;
    private State state;
    private string gs2Header = string.Empty;
    private string clientFirstBare = string.Empty;
    private string serverFirst = string.Empty;
    private string clientNonce = string.Empty;
    private string combinedNonce = string.Empty;

    /// <param name="secret">
    /// The user's stored SCRAM secret. For a plaintext stored password use
    /// <see cref="ScramSecret.ForPlainPassword"/> (stable per-user salt, cached PBKDF2) with
    /// scram_iterations; for an unknown user use <see cref="ScramSecret.CreateMock"/>.
    /// </param>
    public ScramServerExchange(ScramSecret secret)
        : this(secret, ScramPrimitives.NewNonce())
    {
    }

    /// <summary>Fixed server nonce part, so tests can replay published exchanges.</summary>
    internal ScramServerExchange(ScramSecret secret, string serverNonce)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(serverNonce);
        this.secret = secret;
        this.serverNonce = serverNonce;
    }

    private enum State
    {
        AwaitingClientFirst,
        AwaitingClientFinal,
        Succeeded,
        Failed,
    }

    /// <summary>
    /// ClientKey = ClientProof XOR ClientSignature, available after a successful final step. It is
    /// what a SCRAM client needs (with the secret's ServerKey) to authenticate to PostgreSQL with
    /// the same secret, i.e. SCRAM pass-through. Password equivalent: do not log or persist it.
    /// </summary>
    public byte[]? RecoveredClientKey { get; private set; }

    /// <summary>Handles the client's SASLInitialResponse data; on success returns the server-first message.</summary>
    public bool TryHandleClientFirst(ReadOnlySpan<byte> clientFirst, out byte[] serverFirst, out string? error)
    {
        Expect(State.AwaitingClientFirst);
        serverFirst = [];
        error = ParseClientFirst(clientFirst);
        if (error is not null)
        {
            state = State.Failed;
            return false;
        }

        combinedNonce = clientNonce + serverNonce;
        this.serverFirst = string.Create(
            CultureInfo.InvariantCulture,
            $"r={combinedNonce},s={Convert.ToBase64String(secret.Salt)},i={secret.Iterations}");
        serverFirst = Encoding.UTF8.GetBytes(this.serverFirst);
        state = State.AwaitingClientFinal;
        return true;
    }

    /// <summary>
    /// Handles the client's SASLResponse data: checks the channel-binding echo, the nonce and the
    /// proof (constant time); on success returns the server-final message ("v=ServerSignature").
    /// </summary>
    public bool TryHandleClientFinal(ReadOnlySpan<byte> clientFinal, out byte[] serverFinal, out string? error)
    {
        Expect(State.AwaitingClientFinal);
        serverFinal = [];
        state = State.Failed;
        if (!ScramPrimitives.TryDecode(clientFinal, out var text))
        {
            error = "malformed SCRAM client-final-message";
            return false;
        }

        var rest = text.AsSpan();
        if (!ScramPrimitives.TryReadAttribute(ref rest, 'c', out var channelBinding)
            || !ScramPrimitives.TryDecodeBase64(channelBinding, out var channelBindingBytes))
        {
            error = "malformed SCRAM client-final-message: missing channel binding";
            return false;
        }

        // Without -PLUS there is no channel binding data: the echo must be exactly our gs2 header.
        if (!channelBindingBytes.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(gs2Header)))
        {
            error = "SCRAM channel binding check failed";
            return false;
        }

        if (!ScramPrimitives.TryReadAttribute(ref rest, 'r', out var nonce))
        {
            error = "malformed SCRAM client-final-message: missing nonce";
            return false;
        }

        if (!nonce.SequenceEqual(combinedNonce))
        {
            error = "SCRAM nonce mismatch";
            return false;
        }

        // Optional extensions may sit between the nonce and the proof; the proof must come last.
        var proofStart = text.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofStart < text.Length - rest.Length - 1)
        {
            error = "malformed SCRAM client-final-message: missing proof";
            return false;
        }

        var proofText = text.AsSpan(proofStart + 3);
        if (proofText.Contains(',')
            || !ScramPrimitives.TryDecodeBase64(proofText, out var proof)
            || proof.Length != ScramPrimitives.KeyLength)
        {
            error = "malformed SCRAM client-final-message: invalid proof encoding";
            return false;
        }

        var authMessage = ScramPrimitives.AuthMessage(clientFirstBare, serverFirst, text[..proofStart]);
        var clientSignature = ScramPrimitives.Hmac(secret.StoredKey, authMessage);
        var clientKey = ScramPrimitives.Xor(proof, clientSignature);
        if (!CryptographicOperations.FixedTimeEquals(ScramPrimitives.StoredKey(clientKey), secret.StoredKey))
        {
            CryptographicOperations.ZeroMemory(clientKey);
            error = "SCRAM proof is invalid";
            return false;
        }

        var serverSignature = ScramPrimitives.Hmac(secret.ServerKey, authMessage);
        serverFinal = Encoding.UTF8.GetBytes("v=" + Convert.ToBase64String(serverSignature));
        RecoveredClientKey = clientKey;
        state = State.Succeeded;
        error = null;
        return true;
    }

    /// <summary>Parses client-first into the fields the later steps need; returns an error text or null.</summary>
    private string? ParseClientFirst(ReadOnlySpan<byte> message)
    {
        if (!ScramPrimitives.TryDecode(message, out var text))
        {
            return "malformed SCRAM client-first-message";
        }

        // gs2-header = gs2-cbind-flag "," [ authzid ] ","
        switch (text[0])
        {
            case 'n' or 'y' when text.Length > 1 && text[1] == ',':
                break;
            case 'p' when text.Length > 1 && text[1] == '=':
                return "channel binding is not supported (SCRAM-SHA-256-PLUS was not offered)";
            default:
                return "malformed SCRAM client-first-message: invalid channel binding flag";
        }

        var rest = text.AsSpan(2);
        if (rest.StartsWith("a=", StringComparison.Ordinal))
        {
            return "SCRAM authorization identity is not supported";
        }

        if (rest.IsEmpty || rest[0] != ',')
        {
            return "malformed SCRAM client-first-message: invalid gs2 header";
        }

        gs2Header = text[..3];
        rest = rest[1..];
        clientFirstBare = rest.ToString();

        if (rest.StartsWith("m=", StringComparison.Ordinal))
        {
            return "SCRAM mandatory extensions are not supported";
        }

        // The user name is ignored like PostgreSQL does: the startup packet's user name is authoritative.
        if (!ScramPrimitives.TryReadAttribute(ref rest, 'n', out _))
        {
            return "malformed SCRAM client-first-message: missing user name";
        }

        if (!ScramPrimitives.TryReadAttribute(ref rest, 'r', out var nonce) || !ScramPrimitives.IsValidNonce(nonce))
        {
            return "malformed SCRAM client-first-message: missing or invalid nonce";
        }

        clientNonce = nonce.ToString();
        return null;
    }

    private void Expect(State expected)
    {
        if (state != expected)
        {
            throw new InvalidOperationException($"SCRAM server exchange is in state {state}, expected {expected}.");
        }
    }
}
