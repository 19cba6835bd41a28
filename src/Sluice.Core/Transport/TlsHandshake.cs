using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Sluice.Config;
using Sluice.Pooling;
using Sluice.Protocol;

namespace Sluice.Transport;

/// <summary>The TLS steps of the client and server logins, kept out of the login code itself.</summary>
internal static class TlsHandshake
{
    /// <summary>The answer to an SSLRequest that is accepted.</summary>
    public static readonly byte[] SslAccepted = [(byte)'S'];

    private const byte TlsHandshakeRecord = 0x16;
    private const int SslRequestCode = (1234 << 16) | 5679;

    /// <summary>
    /// Client side: waits for the first bytes and peeks at the first one without consuming it. A TLS handshake
    /// record there is PostgreSQL 17's direct TLS (<c>sslnegotiation=direct</c>); anything else is read as usual.
    /// </summary>
    public static async ValueTask<bool> IsDirectTlsAsync(Connection connection, CancellationToken token)
    {
        var first = new byte[1];
        return await connection.PeekAsync(first, token).ConfigureAwait(false) == 1 && first[0] == TlsHandshakeRecord;
    }

    /// <summary>
    /// Client side: the TLS handshake after 'S' (or at once for direct TLS). Direct TLS must negotiate ALPN
    /// "postgresql", as PostgreSQL 17 requires. Returns the connection, or null and the reason to log.
    /// </summary>
    public static async Task<(TlsConnection? Connection, string? Error)> AcceptAsync(Socket socket, SslServerAuthenticationOptions options, bool direct, CancellationToken token)
    {
        TlsConnection connection;
        try
        {
            connection = await TlsConnection.AcceptAsync(socket, options, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException)
        {
            return (null, "TLS handshake failed: " + Describe(e));
        }
        if (direct && connection.ApplicationProtocol != TlsContexts.Alpn)
        {
            connection.Close();
            return (null, "direct TLS connection without ALPN protocol \"postgresql\"");
        }
        return (connection, null);
    }

    /// <summary>
    /// Server side, before the StartupMessage: per server_tls_sslmode (of the TLS setup in use), SSLRequest and
    /// handshake, or nothing. Unix sockets never use TLS. 'N' continues in plain text for allow/prefer and fails for
    /// require and above; a failed handshake fails the login in every mode (no second plain connection is tried).
    /// Returns the TLS connection, or null to go on in plain text; throws a <see cref="ServerLoginException"/>
    /// (08006) with the reason.
    /// </summary>
    public static async Task<TlsConnection?> ConnectToServerAsync(Connection connection, TlsContexts contexts, string? host, CancellationToken token)
    {
        var socket = connection.Socket;
        var mode = contexts.ServerMode;
        if (mode == TlsMode.Disable || socket.AddressFamily == AddressFamily.Unix || string.IsNullOrEmpty(host))
        {
            return null;
        }
        if (contexts.ServerError is not null)
        {
            if (mode < TlsMode.Require)
            {
                return null;   // prefer/allow with unusable server_tls_* files: plain, as the setting allows
            }
            throw Fail(contexts.ServerError);
        }

        var request = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(request, 8);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(4), SslRequestCode);
        await connection.SendAsync(request, token).ConfigureAwait(false);
        // Exactly one byte: whatever follows 'S' belongs to the TLS handshake and must not be buffered here.
        var answer = new byte[1];
        if (await connection.ReceiveAsync(answer, token).ConfigureAwait(false) != 1)
        {
            throw Fail("server closed the connection after SSLRequest");
        }
        switch (answer[0])
        {
            case (byte)'S':
                connection.Detach();   // SslStream drives the socket from here on
                break;
            case (byte)'N' when mode < TlsMode.Require:
                return null;
            case (byte)'N':
                throw Fail("server does not support TLS (server_tls_sslmode requires it)");
            default:
                throw Fail($"server sent '{(char)answer[0]}' in answer to SSLRequest");
        }

        var options = contexts.ForServer(host, out var check);
        try
        {
            return await TlsConnection.ConnectAsync(socket, options, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException)
        {
            // "certificate verify failed" are libtls's words in PgBouncer's log line for a refused certificate.
            var reason = check.Failure is { } refused ? "certificate verify failed: " + refused : Describe(e);
            // Not a refusal: as in PgBouncer the waiting clients stay queued for the retry and see their own timeout.
            throw new ServerLoginException(new ErrorFields("FATAL", SqlState.ConnectionFailure, "server TLS handshake failed: " + reason));
        }
    }

    private static ServerLoginException Fail(string message) => new(new ErrorFields("FATAL", SqlState.ConnectionFailure, message)) { IsRefusal = true };

    private static string Describe(Exception e)
    {
        var message = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!string.IsNullOrEmpty(inner.Message) && !message.Contains(inner.Message, StringComparison.Ordinal))
            {
                message += ": " + inner.Message;
            }
        }
        return message;
    }
}
