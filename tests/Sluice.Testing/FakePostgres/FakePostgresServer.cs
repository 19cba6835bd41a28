using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Sluice.Testing.Wire;

namespace Sluice.Testing.FakePostgres;

/// <summary>A CancelRequest the fake received on a connection of its own.</summary>
public sealed record FakeCancelRequest(int ProcessId, int SecretKey);

/// <summary>
/// A protocol-level fake PostgreSQL server in the spirit of Npgsql's PgPostmasterMock: it listens on
/// 127.0.0.1:0 and hands every accepted connection to a script written by the test. It exists to inject
/// faults a real server cannot produce on demand (bad lengths, half results, silence); behaviour that a real
/// server can show belongs in tests against a real server.
/// <para>
/// Every connection's first packet is read by the server itself: an SSLRequest/GSSENCRequest is answered 'N'
/// and the next packet read; a CancelRequest is recorded (see <see cref="WaitForCancelRequestAsync"/>) and the
/// connection closed without running the script; a StartupMessage is kept for
/// <see cref="FakeServerConnection.ReadStartupAsync"/> and the script runs.
/// </para>
/// </summary>
public sealed class FakePostgresServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<FakeServerConnection, Task> _script;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentBag<Task> _handlers = [];
    private readonly ConcurrentQueue<FakeServerConnection> _connections = new();
    private readonly ConcurrentQueue<Exception> _scriptErrors = new();
    private readonly Channel<FakeCancelRequest> _cancels = Channel.CreateUnbounded<FakeCancelRequest>();
    private readonly Channel<FakeServerConnection> _started = Channel.CreateUnbounded<FakeServerConnection>();
    private readonly Task _acceptLoop;
    private int _connectionCount;
    private int _startupCount;
    private int _cancelCount;

    private FakePostgresServer(Func<FakeServerConnection, Task> script)
    {
        _script = script;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Starts listening; <paramref name="script"/> runs once per (non-cancel) connection.</summary>
    public static FakePostgresServer Start(Func<FakeServerConnection, Task> script) => new(script);

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public int Port => EndPoint.Port;

    /// <summary>TCP connections accepted (cancel connections included).</summary>
    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    /// <summary>StartupMessages received, i.e. server logins attempted.</summary>
    public int StartupCount => Volatile.Read(ref _startupCount);

    /// <summary>CancelRequests received.</summary>
    public int CancelCount => Volatile.Read(ref _cancelCount);

    /// <summary>Connections whose script was started, in order.</summary>
    public IReadOnlyList<FakeServerConnection> Connections => [.. _connections];

    /// <summary>Exceptions thrown by scripts (other than the peer going away), for assertions.</summary>
    public IReadOnlyList<Exception> ScriptErrors => [.. _scriptErrors];

    /// <summary>Waits for the next connection that sent a StartupMessage.</summary>
    public async Task<FakeServerConnection> WaitForConnectionAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            return await _started.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("the fake server saw no new connection");
        }
    }

    /// <summary>Waits for a CancelRequest, which arrives on a new connection, and returns the pid/key it carried.</summary>
    public async Task<FakeCancelRequest> WaitForCancelRequestAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            return await _cancels.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException("the fake server received no CancelRequest");
        }
    }

    /// <summary>True if a CancelRequest is already queued (without consuming it).</summary>
    public bool TryPeekCancelRequest(out FakeCancelRequest? request) => _cancels.Reader.TryPeek(out request);

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            socket.NoDelay = true;
            var id = Interlocked.Increment(ref _connectionCount);
            _handlers.Add(Task.Run(() => HandleAsync(new FakeServerConnection(this, socket, id, _stopping.Token))));
        }
    }

    private async Task HandleAsync(FakeServerConnection connection)
    {
        try
        {
            while (true)
            {
                var body = await connection.Reader.ReadUntypedAsync(connection.Token).ConfigureAwait(false);
                if (body is null)
                {
                    connection.Close();
                    return;
                }
                var code = BinaryPrimitives.ReadInt32BigEndian(body);
                if (code is PgWire.SslRequestCode or PgWire.GssEncRequestCode)
                {
                    await connection.SendRawAsync(new[] { (byte)'N' }).ConfigureAwait(false);
                    continue;
                }
                if (code == PgWire.CancelRequestCode && body.Length == 12)
                {
                    Interlocked.Increment(ref _cancelCount);
                    _cancels.Writer.TryWrite(new FakeCancelRequest(
                        BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(4)),
                        BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(8))));
                    connection.Close();   // PostgreSQL closes a cancel connection without a reply
                    return;
                }
                connection.SetStartup(body);
                break;
            }
            Interlocked.Increment(ref _startupCount);
            _connections.Enqueue(connection);
            _started.Writer.TryWrite(connection);
            await _script(connection).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or FakePeerClosedException)
        {
            // The pooler (or the test) went away; that is what fault tests provoke.
        }
        catch (Exception e)
        {
            _scriptErrors.Enqueue(e);
        }
        finally
        {
            connection.MarkScriptDone();
        }
    }

    /// <summary>Stops listening, closes every connection and waits (briefly) for the scripts to end.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _listener.Dispose();
        foreach (var connection in _connections)
        {
            connection.Close();
        }
        try
        {
            await _acceptLoop.ConfigureAwait(false);
            await Task.WhenAll(_handlers).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A script ignoring cancellation must not hang the test run.
        }
        _stopping.Dispose();
    }
}

/// <summary>The peer closed the connection where the script expected a message.</summary>
public sealed class FakePeerClosedException(string message) : Exception(message);
