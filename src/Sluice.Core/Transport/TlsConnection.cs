using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Sluice.Transport;

/// <summary>
/// TLS over a connected socket. Idle waits are zero-byte reads on the <see cref="SslStream"/>, which wait on the
/// socket without renting SslStream's internal buffer, so an idle TLS connection holds no buffer either.
/// Errors are reported as <see cref="SocketException"/> like a plain socket's, so callers need one set of catches.
/// </summary>
internal sealed class TlsConnection : Connection
{
    private readonly SslStream _stream;

    // SslStream allows one read and one write at a time; sends can come from the client loop, the server loop
    // and a closing path at once, so writes take turns. Uncontended, WaitAsync completes synchronously.
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private int _closed;

    private TlsConnection(Socket socket, SslStream stream) : base(socket)
    {
        _stream = stream;
        // Taken once after the handshake: SHOW CLIENTS may ask while the connection is being closed.
        Description = ProtocolName(stream.SslProtocol) + "/" + TlsCipherNames.OpenSslName(stream.NegotiatedCipherSuite);
        LocalCertificate = stream.LocalCertificate;
    }

    public override bool IsTls => true;

    /// <summary>The peer's certificate (a client certificate on the client side), if it sent one.</summary>
    public X509Certificate2? RemoteCertificate { get; private init; }

    public SslProtocols Protocol => _stream.SslProtocol;

    public TlsCipherSuite CipherSuite => _stream.NegotiatedCipherSuite;

    public SslApplicationProtocol ApplicationProtocol => _stream.NegotiatedApplicationProtocol;

    /// <summary>
    /// The <c>tls</c> column of SHOW CLIENTS/SERVERS in PgBouncer's format (protocol/cipher, OpenSSL cipher names),
    /// e.g. <c>TLSv1.3/TLS_AES_256_GCM_SHA384</c>. PgBouncer appends the key exchange group (<c>/ECDH=X25519</c>);
    /// SslStream does not tell which group OpenSSL negotiated, so it is left out rather than guessed.
    /// </summary>
    public string Description { get; }

    /// <summary>The certificate this side presented: Sluice's client_tls_cert_file towards clients.</summary>
    public X509Certificate? LocalCertificate { get; }

    /// <summary>
    /// The <c>tls-server-end-point</c> channel binding data of the certificate this side presented (Sluice's own
    /// certificate towards clients), for SCRAM-SHA-256-PLUS; null when it has none or none can be computed.
    /// </summary>
    public byte[]? ServerEndPoint => LocalCertificate is { } certificate ? TlsServerEndPoint.For(certificate) : null;

    /// <summary>Server side of the handshake (towards a client). The socket stays owned by the caller on failure.</summary>
    public static async Task<TlsConnection> AcceptAsync(Socket socket, SslServerAuthenticationOptions options, CancellationToken cancellationToken)
    {
        socket.Blocking = true;   // NetworkStream refuses a non-blocking socket (SocketConnection makes them so)
        var stream = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
        try
        {
            await stream.AuthenticateAsServerAsync(options, cancellationToken).ConfigureAwait(false);
            return new TlsConnection(socket, stream) { RemoteCertificate = AsCertificate2(stream.RemoteCertificate) };
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Client side of the handshake (towards a PostgreSQL server).</summary>
    public static async Task<TlsConnection> ConnectAsync(Socket socket, SslClientAuthenticationOptions options, CancellationToken cancellationToken)
    {
        socket.Blocking = true;   // NetworkStream refuses a non-blocking socket (SocketConnection makes them so)
        var stream = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
        try
        {
            await stream.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
            return new TlsConnection(socket, stream) { RemoteCertificate = AsCertificate2(stream.RemoteCertificate) };
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override ValueTask WaitForDataAsync(CancellationToken cancellationToken = default)
    {
        ValueTask<int> pending;
        try
        {
            pending = _stream.ReadAsync(Memory<byte>.Empty, cancellationToken);
        }
        catch (Exception e) when (IsTransportError(e))
        {
            return ValueTask.FromException(Translate(e));
        }
        if (pending.IsCompletedSuccessfully)
        {
            return ValueTask.CompletedTask;
        }
        return Await(pending);

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        static async ValueTask Await(ValueTask<int> pending)
        {
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransportError(e))
            {
                throw Translate(e);
            }
        }
    }

    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ValueTask<int> pending;
        try
        {
            pending = _stream.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception e) when (IsTransportError(e))
        {
            return ValueTask.FromException<int>(Translate(e));
        }
        if (pending.IsCompletedSuccessfully)
        {
            return pending;
        }
        return Await(pending);

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        static async ValueTask<int> Await(ValueTask<int> pending)
        {
            try
            {
                return await pending.ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransportError(e))
            {
                throw Translate(e);
            }
        }
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (_writeLock.Wait(0))
        {
            ValueTask pending;
            try
            {
                pending = _stream.WriteAsync(data, cancellationToken);
            }
            catch (Exception e) when (IsTransportError(e))
            {
                _writeLock.Release();
                return ValueTask.FromException(Translate(e));
            }
            if (pending.IsCompletedSuccessfully)
            {
                _writeLock.Release();
                return ValueTask.CompletedTask;
            }
            return AwaitWrite(pending);
        }
        return LockedWrite(data, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AwaitWrite(ValueTask pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception e) when (IsTransportError(e))
        {
            throw Translate(e);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async ValueTask LockedWrite(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsTransportError(e))
        {
            throw Translate(e);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override void TrySendFinal(ReadOnlySpan<byte> data)
    {
        // A write in progress owns the stream; the last words are dropped rather than waited for.
        if (Volatile.Read(ref _closed) != 0 || !_writeLock.Wait(0))
        {
            return;
        }
        try
        {
            // Never wait for a peer that stopped reading: with the socket non-blocking, the record goes out only if
            // the socket buffer has room (it almost always has), so no I/O thread is held here. The stream is
            // about to be closed, so a record cut short can do no harm.
            Socket.Blocking = false;
            _stream.Write(data);
        }
        catch (Exception)
        {
            // The peer is gone or the stream is broken; nothing more to tell it. Never throws.
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        // The socket first, so a pending read or write fails at once; then the TLS state.
        Socket.CloseQuietly();
        try
        {
            _stream.Dispose();
        }
        catch (Exception)
        {
            // Disposing a broken stream must not throw out of a close.
        }
    }

    internal static string ProtocolName(SslProtocols protocol) => protocol switch
    {
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 => "TLSv1.2",
#pragma warning disable SYSLIB0039 // reporting an old protocol that was negotiated is not using it
        SslProtocols.Tls11 => "TLSv1.1",
        SslProtocols.Tls => "TLSv1",
#pragma warning restore SYSLIB0039
        _ => protocol.ToString(),
    };

    private static X509Certificate2? AsCertificate2(X509Certificate? certificate) => certificate switch
    {
        null => null,
        X509Certificate2 c2 => c2,
        _ => new X509Certificate2(certificate),
    };

    private static bool IsTransportError(Exception e) => e is IOException or AuthenticationException or NotSupportedException or InvalidOperationException;

    /// <summary>What the callers already handle for plain sockets: the underlying SocketException, or a reset.</summary>
    private static Exception Translate(Exception e)
    {
        return e.InnerException as SocketException ?? new SocketException((int)SocketError.ConnectionReset);
    }
}
