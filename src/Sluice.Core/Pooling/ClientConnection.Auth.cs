using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Sluice.Auth;
using Sluice.Config;
using Sluice.Hosting;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Pooling;

internal sealed partial class ClientConnection
{
    /// <summary>What a successful login leaves behind: the ClientKey for SCRAM pass-through, if any.</summary>
    /// <param name="ScramClientKey">SCRAM pass-through: the ClientKey recovered from the client's proof.</param>
    /// <param name="PendingReply">
    /// The last authentication message (SASLFinal), sent with the welcome that follows it: one send, one wake-up of
    /// the client, instead of two per login.
    /// </param>
    private sealed record AuthResult(byte[]? ScramClientKey, ReadOnlyMemory<byte> PendingReply = default);

    private static readonly AuthResult Authenticated = new((byte[]?)null);

    private static readonly Task<AuthResult?> AuthenticatedTask = Task.FromResult<AuthResult?>(Authenticated);

    private static readonly Task<AuthResult?> NotAuthenticated = Task.FromResult<AuthResult?>(null);

    /// <summary>
    /// Authenticates the client per auth_type against auth_file, both of <paramref name="snapshot"/> as are the HBA
    /// rules and ident maps. Returns null after disconnecting it.
    /// </summary>
    /// <remarks>
    /// Not itself async: the usual login goes straight to the exchange's task, so a read that waits resumes one
    /// state machine fewer on its way back.
    /// </remarks>
    private Task<AuthResult?> AuthenticateAsync(LoginReader reader, ConfigSnapshot snapshot, string user, bool forcedUser, CancellationToken token, DatabaseEntry? database = null, string? databaseName = null)
    {
        var config = snapshot.Config;
        var method = config.AuthType;
        string? certMap = null;   // an HBA cert rule's map=: auth_ident_file names the certificates that may log in as whom
        if (method == AuthType.Hba)
        {
            // auth_type = hba: the first matching rule of auth_hba_file decides the method, as in pg_hba.conf.
            var rule = snapshot.Hba.Match(IsUnixSocket, _connection.IsTls, databaseName ?? database?.Name ?? "", user, RemoteAddress(),
                isReplication: Replication == ReplicationMode.Physical);   // logical walsenders match database rules, as in PostgreSQL
            switch (rule?.Method)
            {
                case null:
                    Disconnect($"no pg_hba.conf entry for host \"{RemoteAddress()?.ToString() ?? "[local]"}\", user \"{user}\", database \"{databaseName}\"", SqlState.InvalidAuthorizationSpecification);
                    return NotAuthenticated;
                case HbaMethod.Reject:
                    Disconnect("connection rejected by auth_hba_file", SqlState.InvalidAuthorizationSpecification);
                    return NotAuthenticated;
                case HbaMethod.Peer:
                    return Task.FromResult(CheckPeer(user, rule.Map, snapshot.Ident));
                case HbaMethod.Trust:
                    method = AuthType.Trust;
                    break;
                case HbaMethod.Password:
                    method = AuthType.Plain;
                    break;
                case HbaMethod.Md5:
                    method = AuthType.Md5;
                    break;
                case HbaMethod.ScramSha256:
                    method = AuthType.ScramSha256;
                    break;
                case HbaMethod.Cert:
                    method = AuthType.Cert;
                    certMap = rule.Map;
                    break;
            }
        }
        var known = snapshot.AuthFile.TryGet(user, out var secret);
        if (!known && config.AuthType != AuthType.Any && AuthUserFor(database, databaseName, config) is { } authUser)
        {
            return WithAuthQueryAsync(method, authUser);
        }
        return ExchangeAsync(method, known, secret);

        async Task<AuthResult?> WithAuthQueryAsync(AuthType method, string authUser)
        {
            var (outcome, found) = await LookUpWithAuthQueryAsync(database, authUser, user, config).ConfigureAwait(false);
            switch (outcome)
            {
                case AuthQueryOutcome.Failed:
                    return null;
                case AuthQueryOutcome.NotFound:
                    Disconnect("no such user", SqlState.InvalidAuthorizationSpecification);
                    return null;
            }
            _authQuerySecret = found;
            return await ExchangeAsync(method, known: true, found).ConfigureAwait(false);
        }

        Task<AuthResult?> ExchangeAsync(AuthType method, bool known, PasswordSecret? secret)
        {
            switch (method)
            {
                case AuthType.Any:
                    return AuthenticatedTask;
                case AuthType.Trust:
                    if (!known)
                    {
                        Disconnect("\"trust\" authentication failed", SqlState.InvalidAuthorizationSpecification);
                        return NotAuthenticated;
                    }
                    return AuthenticatedTask;
                case AuthType.Cert when certMap is not null:
                    return Task.FromResult(CheckMappedCertificate(user, certMap, snapshot.Ident));
                case AuthType.Cert when TlsContexts.CertificateUserError(_connection, user) is { } certError:
                    // The client certificate's common name is the user name; no password is asked.
                    Disconnect(certError, SqlState.InvalidAuthorizationSpecification);
                    return NotAuthenticated;
                case AuthType.Cert:
                    return AuthenticatedTask;
                case AuthType.Plain:
                    return CleartextAsync(reader, user, known ? secret : null, token);
                case AuthType.Md5 when !known || secret is not ScramSecret:
                    return Md5Async(reader, user, known ? secret : null, token);
                case AuthType.Md5:
                case AuthType.ScramSha256:
                    return ScramAsync(reader, user, known ? secret : null, config, token);
                default:
                    Disconnect($"auth_type {config.AuthType} is not supported by this version of Sluice", SqlState.FeatureNotSupported);
                    return NotAuthenticated;
            }
        }
    }

    /// <summary>peer (HBA on a Unix socket): the OS user on the other end, mapped through auth_ident_file when the rule has map=.</summary>
    private AuthResult? CheckPeer(string user, string? map, IdentMap ident)
    {
        if (!IsUnixSocket || !PeerCredentials.TryGet(_socket, out _, out var uid, out _) || PeerCredentials.UserName(uid) is not { } systemUser)
        {
            Disconnect($"peer authentication failed for user \"{user}\"", SqlState.InvalidAuthorizationSpecification);
            return null;
        }
        var allowed = map is null ? systemUser == user : ident.Allows(map, systemUser, user);
        if (!allowed)
        {
            Disconnect($"peer authentication failed for user \"{user}\"", SqlState.InvalidAuthorizationSpecification);
            return null;
        }
        return Authenticated;
    }

    private System.Net.IPAddress? RemoteAddress() => (_remoteEndPoint as System.Net.IPEndPoint)?.Address;

    private async Task<AuthResult?> CleartextAsync(LoginReader reader, string user, PasswordSecret? secret, CancellationToken token)
    {
        var b = new MessageBuilder();
        BackendMessages.WriteAuthentication(b, AuthRequest.CleartextPassword);
        await _connection.SendAsync(b.Written, token).ConfigureAwait(false);
        var password = PasswordBody(await reader.ReadTypedAsync(token, FrontendCode.Password).ConfigureAwait(false));
        if (password is null)
        {
            return null;
        }
        // A PasswordMessage ends with a NUL that is not part of the password.
        var text = Encoding.UTF8.GetString(password.AsSpan().TrimEnd((byte)0));
        var ok = secret switch
        {
            PlainSecret plain => FixedTimeEquals(plain.Password, text),
            Md5Secret md5 => FixedTimeEquals(md5.Hash, Md5Auth.HashPassword(text, user)),
            ScramSecret scram => ScramMatches(scram, text),
            _ => false,
        };
        return ok && text.Length > 0 ? Authenticated : FailPassword(user);
    }

    private async Task<AuthResult?> Md5Async(LoginReader reader, string user, PasswordSecret? secret, CancellationToken token)
    {
        var salt = new byte[4];
        SecureRandom.Fill(salt);
        var b = new MessageBuilder();
        BackendMessages.WriteAuthentication(b, AuthRequest.Md5Password, salt);
        await _connection.SendAsync(b.Written, token).ConfigureAwait(false);
        var response = PasswordBody(await reader.ReadTypedAsync(token, FrontendCode.Password).ConfigureAwait(false));
        if (response is null)
        {
            return null;
        }
        // Unknown users go through the same exchange, so a client cannot tell which users exist.
        return secret is not null && Md5Auth.Verify(secret, user, salt, response.AsSpan().TrimEnd((byte)0)) ? Authenticated : FailPassword(user);
    }

    private async Task<AuthResult?> ScramAsync(LoginReader reader, string user, PasswordSecret? secret, PoolerConfig config, CancellationToken token)
    {
        var stored = secret switch
        {
            ScramSecret scram => scram,
            PlainSecret plain => ScramSecret.ForPlainPassword(user, plain.Password, config.ScramIterations),
            _ => null,
        };
        // An unknown user (or an md5 secret, which cannot do SCRAM) gets a mock exchange that always fails.
        // Over TLS SCRAM-SHA-256-PLUS is offered too, bound to Sluice's certificate (RFC 5929 tls-server-end-point),
        // so a client that insists on channel binding knows no one terminated its TLS in between.
        var endPoint = (_connection as TlsConnection)?.ServerEndPoint;
        var exchange = new ScramServerExchange(stored ?? ScramSecret.CreateMock(user, config.ScramIterations), endPoint);
        await _connection.SendAsync(exchange.OffersChannelBinding ? Pregenerated.SaslScramSha256Plus : Pregenerated.SaslScramSha256, token).ConfigureAwait(false);

        var initial = PasswordBody(await reader.ReadTypedAsync(token, FrontendCode.Password).ConfigureAwait(false));
        if (initial is null)
        {
            return null;
        }
        var mechanismEnd = Array.IndexOf(initial, (byte)0);
        if (mechanismEnd < 0 || initial.Length < mechanismEnd + 5)
        {
            Disconnect("malformed SASLInitialResponse", SqlState.ProtocolViolation);
            return null;
        }
        var mechanism = Encoding.ASCII.GetString(initial, 0, mechanismEnd);
        var dataLength = BinaryPrimitives.ReadInt32BigEndian(initial.AsSpan(mechanismEnd + 1));
        var data = initial.AsSpan(mechanismEnd + 5);
        if (dataLength != data.Length)
        {
            Disconnect("malformed SCRAM message", SqlState.ProtocolViolation);
            return null;
        }
        if (!exchange.TryHandleClientFirst(mechanism, data, out var serverFirst, out var firstError))
        {
            // A "y" flag although -PLUS was offered is a downgrade attempt: 28000, as PostgreSQL answers it.
            Disconnect(firstError!, exchange.Failure == ScramFailure.ChannelBinding ? SqlState.InvalidAuthorizationSpecification : SqlState.ProtocolViolation, exchange.ErrorDetail);
            return null;
        }
        var b = new MessageBuilder();
        BackendMessages.WriteAuthentication(b, AuthRequest.SaslContinue, serverFirst);
        await _connection.SendAsync(b.Written, token).ConfigureAwait(false);

        var final = PasswordBody(await reader.ReadTypedAsync(token, FrontendCode.Password).ConfigureAwait(false));
        if (final is null)
        {
            return null;
        }
        if (!exchange.TryHandleClientFinal(final, out var serverFinal, out var finalError))
        {
            if (exchange.Failure == ScramFailure.ChannelBinding)
            {
                // The client proved it saw another certificate than ours (a TLS-terminating proxy in between).
                Disconnect(finalError!, SqlState.InvalidAuthorizationSpecification);
                return null;
            }
            return FailSasl();
        }
        if (stored is null)
        {
            return FailSasl();
        }
        b.Clear();
        BackendMessages.WriteAuthentication(b, AuthRequest.SaslFinal, serverFinal);
        // Only a stored SCRAM secret lets the recovered ClientKey log in to PostgreSQL (pass-through).
        return new AuthResult(secret is ScramSecret ? exchange.RecoveredClientKey : null, b.Written);
    }

    /// <summary>
    /// The body of a 'p' message (password, SASL response) as read by the caller, or null after disconnecting on EOF or
    /// another type. The callers await the reader themselves: a login's waits then resume one state machine fewer.
    /// </summary>
    private byte[]? PasswordBody((bool Ok, byte Code, byte[] Body) message)
    {
        if (!message.Ok)
        {
            Disconnect("client unexpected eof", null);
            return null;
        }
        if (message.Code != FrontendCode.Password)
        {
            Disconnect($"expected password message, got '{(char)message.Code}'", SqlState.ProtocolViolation);
            return null;
        }
        // PasswordMessage is NUL-terminated; SASL messages are not.
        return message.Body;
    }

    private AuthResult? FailPassword(string user)
    {
        Disconnect($"password authentication failed for user \"{user}\"", SqlState.InvalidPassword);
        return null;
    }

    private static bool FixedTimeEquals(string expected, string actual)
    {
        var a = Encoding.UTF8.GetBytes(expected);
        var b = Encoding.UTF8.GetBytes(actual.TrimEnd('\0'));
        return CryptographicOperations.FixedTimeEquals(a, b);
    }

    private static bool ScramMatches(ScramSecret stored, string password)
    {
        var derived = ScramSecret.FromPassword(password.TrimEnd('\0'), stored.Salt, stored.Iterations);
        return CryptographicOperations.FixedTimeEquals(derived.StoredKey, stored.StoredKey);
    }
}
