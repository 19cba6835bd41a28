using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Sluice.Auth;

/// <summary>
/// Sluice as the SCRAM-SHA-256(-PLUS) server towards a client (RFC 5802 / RFC 7677 / RFC 5929, PostgreSQL
/// dialect). One instance per authentication attempt: mechanism and client-first → server-first,
/// client-final → server-final.
/// </summary>
/// <remarks>
/// As in PostgreSQL, the user name inside client-first is ignored (the startup packet's user counts),
/// authorization identities and mandatory extensions are refused. Over TLS SCRAM-SHA-256-PLUS is offered
/// with the <c>tls-server-end-point</c> binding, and the gs2 flag must agree with the mechanism: "p" only
/// with -PLUS, "n" only without it, and "y" ("I could bind but you can't") is refused as a downgrade when
/// -PLUS was offered (auth-scram.c <c>read_client_first_message</c>). Binding with the client changes only
/// what the proof covers, so the ClientKey recovered for pass-through is the same. Malformed or failing
/// input returns false with an error text that contains no secret (and <see cref="Failure"/> says which
/// kind) and never throws; calling the steps out of order is a programming error and throws
/// <see cref="InvalidOperationException"/>. After a failure the exchange is finished.
/// </remarks>
public sealed class ScramServerExchange
{
    /// <summary>The SASL mechanism name to advertise in AuthenticationSASL.</summary>
    public const string MechanismName = ScramPrimitives.Mechanism;

    /// <summary>The channel-binding variant, offered only over TLS.</summary>
    public const string PlusMechanismName = ScramPrimitives.Mechanism + "-PLUS";

    /// <summary>The only channel binding type PostgreSQL (and so every client) uses.</summary>
    private const string EndPointBinding = "tls-server-end-point";

    private readonly ScramSecret secret;
    private readonly string serverNonce;
    private readonly byte[]? serverEndPoint;
    private bool bindingSelected;
    private State state;
    private string clientFirst = string.Empty;   // the gs2 header, then client-first-message-bare
    private int gs2HeaderLength;
    private string serverFirst = string.Empty;
    private string combinedNonce = string.Empty;

    /// <param name="secret">
    /// The user's stored SCRAM secret. For a plaintext stored password use
    /// <see cref="ScramSecret.ForPlainPassword"/> (stable per-user salt, cached PBKDF2) with
    /// scram_iterations; for an unknown user use <see cref="ScramSecret.CreateMock"/>.
    /// </param>
    /// <param name="tlsServerEndPoint">
    /// The connection's <c>tls-server-end-point</c> data (RFC 5929, the hash of Sluice's certificate) when it is
    /// TLS: then SCRAM-SHA-256-PLUS is offered and may be selected. Null on a plain connection.
    /// </param>
    public ScramServerExchange(ScramSecret secret, byte[]? tlsServerEndPoint = null)
        : this(secret, ScramPrimitives.NewNonce(), tlsServerEndPoint)
    {
    }

    /// <summary>Fixed server nonce part, so tests can replay published exchanges.</summary>
    internal ScramServerExchange(ScramSecret secret, string serverNonce, byte[]? tlsServerEndPoint = null)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(serverNonce);
        this.secret = secret;
        this.serverNonce = serverNonce;
        serverEndPoint = tlsServerEndPoint;
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

    /// <summary>Whether SCRAM-SHA-256-PLUS is offered (the connection is TLS), so AuthenticationSASL lists it first.</summary>
    public bool OffersChannelBinding => serverEndPoint is not null;

    /// <summary>What kind of failure the last failed step was; <see cref="ScramFailure.None"/> until one fails.</summary>
    public ScramFailure Failure { get; private set; }

    /// <summary>PostgreSQL's errdetail for the failure, when it has one (the channel binding refusals).</summary>
    public string? ErrorDetail { get; private set; }

    /// <summary>Handles SCRAM-SHA-256 client-first data; on success returns the server-first message.</summary>
    public bool TryHandleClientFirst(ReadOnlySpan<byte> clientFirst, out byte[] serverFirst, out string? error) =>
        TryHandleClientFirst(MechanismName, clientFirst, out serverFirst, out error);

    /// <summary>
    /// Handles the client's SASLInitialResponse: the mechanism it selected and its client-first data. On success
    /// returns the server-first message.
    /// </summary>
    public bool TryHandleClientFirst(string mechanism, ReadOnlySpan<byte> clientFirst, out byte[] serverFirst, out string? error)
    {
        Expect(State.AwaitingClientFirst);
        serverFirst = [];
        if (mechanism == PlusMechanismName && serverEndPoint is not null)
        {
            bindingSelected = true;
        }
        else if (mechanism != MechanismName)
        {
            // -PLUS on a plain connection is as unknown as any other name (auth.c CheckSASLAuth).
            error = Fail(ScramFailure.Malformed, "client selected an invalid SASL authentication mechanism");
            state = State.Failed;
            return false;
        }

        error = ParseClientFirst(clientFirst);
        if (error is not null)
        {
            if (Failure == ScramFailure.None)
            {
                Failure = ScramFailure.Malformed;
            }
            state = State.Failed;
            return false;
        }

        this.serverFirst = string.Create(CultureInfo.InvariantCulture, $"r={combinedNonce},s={secret.SaltBase64},i={secret.Iterations}");
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
            error = Fail(ScramFailure.Malformed, "malformed SCRAM client-final-message");
            return false;
        }

        var rest = text.AsSpan();
        // Decoded on the stack when it fits (it always does for an honest client: a header and at most a hash).
        Span<byte> channelBindingBytes = stackalloc byte[128];
        if (!ScramPrimitives.TryReadAttribute(ref rest, 'c', out var channelBinding)
            || !TryDecodeChannelBinding(channelBinding, ref channelBindingBytes))
        {
            error = Fail(ScramFailure.Malformed, "malformed SCRAM client-final-message: missing channel binding");
            return false;
        }

        // c= is base64(gs2 header + binding data): the header alone without -PLUS, and with it the hash of the
        // certificate this connection really presented. A man in the middle terminating TLS has another one.
        if (!IsExpectedChannelBinding(channelBindingBytes))
        {
            error = bindingSelected
                ? Fail(ScramFailure.ChannelBinding, "SCRAM channel binding check failed")
                : Fail(ScramFailure.Malformed, "SCRAM channel binding check failed");
            return false;
        }

        if (!ScramPrimitives.TryReadAttribute(ref rest, 'r', out var nonce))
        {
            error = Fail(ScramFailure.Malformed, "malformed SCRAM client-final-message: missing nonce");
            return false;
        }

        if (!nonce.SequenceEqual(combinedNonce))
        {
            error = Fail(ScramFailure.Authentication, "SCRAM nonce mismatch");
            return false;
        }

        // Optional extensions may sit between the nonce and the proof; the proof must come last.
        var proofStart = text.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofStart < text.Length - rest.Length - 1)
        {
            error = Fail(ScramFailure.Malformed, "malformed SCRAM client-final-message: missing proof");
            return false;
        }

        var proofText = text.AsSpan(proofStart + 3);
        Span<byte> proof = stackalloc byte[2 * ScramPrimitives.KeyLength];   // a longer proof fails to fit: malformed either way
        if (proofText.Contains(',')
            || !ScramPrimitives.TryDecodeBase64(proofText, proof, out var proofLength)
            || proofLength != ScramPrimitives.KeyLength)
        {
            error = Fail(ScramFailure.Malformed, "malformed SCRAM client-final-message: invalid proof encoding");
            return false;
        }
        proof = proof[..proofLength];

        // The AuthMessage, signatures and StoredKey live on the stack; only the key kept for pass-through and the
        // reply are arrays.
        var clientFirstBare = clientFirst.AsSpan(gs2HeaderLength);
        var clientFinalWithoutProof = text.AsSpan(0, proofStart);
        var authLength = ScramPrimitives.AuthMessageLength(clientFirstBare, serverFirst, clientFinalWithoutProof);
        var authMessage = authLength <= 1024 ? stackalloc byte[authLength] : new byte[authLength];
        ScramPrimitives.WriteAuthMessage(clientFirstBare, serverFirst, clientFinalWithoutProof, authMessage);
        Span<byte> signature = stackalloc byte[ScramPrimitives.KeyLength];
        secret.StoredKeyHmac.Compute(authMessage, signature);
        var clientKey = ScramPrimitives.Xor(proof, signature);
        Span<byte> storedKey = stackalloc byte[Sha256.HashSize];
        Sha256.Hash(clientKey, storedKey);
        if (!CryptographicOperations.FixedTimeEquals(storedKey, secret.StoredKey))
        {
            CryptographicOperations.ZeroMemory(clientKey);
            error = Fail(ScramFailure.Authentication, "SCRAM proof is invalid");
            return false;
        }

        secret.ServerKeyHmac.Compute(authMessage, signature);
        serverFinal = new byte[2 + Base64.GetMaxEncodedToUtf8Length(signature.Length)];
        "v="u8.CopyTo(serverFinal);
        Base64.EncodeToUtf8(signature, serverFinal.AsSpan(2), out _, out _);
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

        if (ParseGs2Header(text, out var headerLength) is { } gs2Error)
        {
            return gs2Error;
        }

        clientFirst = text;
        gs2HeaderLength = headerLength;
        var rest = text.AsSpan(headerLength);

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

        combinedNonce = string.Concat(nonce, serverNonce);
        return null;
    }

    /// <summary>
    /// gs2-header = gs2-cbind-flag "," [ authzid ] "," with gs2-cbind-flag = "p=" cb-name / "n" / "y"; the flag must
    /// agree with the selected mechanism and with what was offered. Returns an error text or null and the length.
    /// </summary>
    private string? ParseGs2Header(string text, out int length)
    {
        length = 0;
        int flagEnd;
        switch (text[0])
        {
            case 'p' when text.Length > 1 && text[1] == '=':
                flagEnd = text.IndexOf(',');
                if (!bindingSelected)
                {
                    return serverEndPoint is null
                        ? "channel binding is not supported (SCRAM-SHA-256-PLUS was not offered)"
                        : Fail(ScramFailure.Malformed, "malformed SCRAM message",
                            "The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.");
                }
                var type = flagEnd < 0 ? text.AsSpan(2) : text.AsSpan(2, flagEnd - 2);
                if (!type.SequenceEqual(EndPointBinding))
                {
                    return $"unsupported SCRAM channel-binding type \"{Printable(type)}\"";
                }
                break;
            case 'n' or 'y' when bindingSelected:
                return Fail(ScramFailure.Malformed, "malformed SCRAM message",
                    "The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data.");
            case 'y' when serverEndPoint is not null:
                // The client could bind and believes we cannot: someone between us stripped -PLUS from the list.
                return Fail(ScramFailure.ChannelBinding, "SCRAM channel binding negotiation error",
                    "The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding.");
            case 'n' or 'y':
                flagEnd = 1;
                break;
            default:
                flagEnd = -1;
                break;
        }

        if (flagEnd < 0 || flagEnd >= text.Length || text[flagEnd] != ',')
        {
            return "malformed SCRAM client-first-message: invalid channel binding flag";
        }

        var rest = text.AsSpan(flagEnd + 1);
        if (rest.StartsWith("a=", StringComparison.Ordinal))
        {
            return "SCRAM authorization identity is not supported";
        }

        if (rest.IsEmpty || rest[0] != ',')
        {
            return "malformed SCRAM client-first-message: invalid gs2 header";
        }

        length = flagEnd + 2;
        return null;
    }

    /// <summary>Decodes c= into <paramref name="decoded"/>, or into an array when it is too long for it.</summary>
    private static bool TryDecodeChannelBinding(ReadOnlySpan<char> text, ref Span<byte> decoded)
    {
        if (text.Length / 4 * 3 > decoded.Length)
        {
            decoded = new byte[text.Length / 4 * 3 + 3];
        }
        if (!ScramPrimitives.TryDecodeBase64(text, decoded, out var written))
        {
            return false;
        }
        decoded = decoded[..written];
        return true;
    }

    /// <summary>Whether c= decoded to the gs2 header, followed with -PLUS by the certificate hash.</summary>
    private bool IsExpectedChannelBinding(ReadOnlySpan<byte> decoded)
    {
        var header = clientFirst.AsSpan(0, gs2HeaderLength);   // ASCII: checked by the gs2 header parser
        var binding = bindingSelected ? serverEndPoint! : [];
        if (decoded.Length != header.Length + binding.Length)
        {
            return false;
        }
        for (var i = 0; i < header.Length; i++)
        {
            if (decoded[i] != header[i])
            {
                return false;
            }
        }
        return decoded[header.Length..].SequenceEqual(binding);
    }

    /// <summary>Records the kind of failure (and PostgreSQL's detail) and returns the message.</summary>
    private string Fail(ScramFailure failure, string message, string? detail = null)
    {
        Failure = failure;
        ErrorDetail = detail;
        return message;
    }

    /// <summary>A client-chosen name quoted back in an error: printable ASCII only, and not too long.</summary>
    private static string Printable(ReadOnlySpan<char> value)
    {
        var shown = value.Length > 64 ? value[..64] : value;
        return string.Create(shown.Length, shown.ToString(), static (span, s) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = s[i] is >= '\x20' and <= '\x7e' ? s[i] : '?';
            }
        });
    }

    private void Expect(State expected)
    {
        if (state != expected)
        {
            throw new InvalidOperationException($"SCRAM server exchange is in state {state}, expected {expected}.");
        }
    }
}
