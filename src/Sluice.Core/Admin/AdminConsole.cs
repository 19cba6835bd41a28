using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Sluice.Diagnostics;
using Sluice.Hosting;
using Sluice.Pooling;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Admin;

/// <summary>
/// The virtual "pgbouncer" database (pgbouncer.md §3): after the login the console sends its own welcome,
/// then answers Simple Query messages one by one. The extended protocol is refused and ends the session, as
/// in PgBouncer. It reads and writes through the client's <see cref="Connection"/>, so it works over TLS too.
/// </summary>
internal static class AdminConsole
{
    /// <summary>Queries are a line of text; anything bigger than this is not a console command.</summary>
    private const int MaxMessageSize = 1024 * 1024;

    public static async Task RunAsync(Pooler pooler, ClientConnection client, Connection connection, string user, AdminAccessLevel access, byte[] leftover, CancellationToken token)
    {
        var state = AdminState.For(pooler);
        var session = new ConsoleSession(client, connection.Socket, user, access);
        state.Consoles[client.Id] = session;
        try
        {
            var output = new MessageBuilder(1024);
            AdminMessages.WriteWelcome(output, client.CancelProcessId, client.CancelSecretKey, applicationName: null);
            await connection.SendAsync(output.Written, token).ConfigureAwait(false);

            var reader = new AdminMessageReader(connection, leftover, MaxMessageSize);
            var counted = false;
            while (true)
            {
                var message = await reader.ReadAsync(token).ConfigureAwait(false);
                if (message is null)
                {
                    client.Disconnect("client unexpected eof", null);
                    return;
                }
                var (code, body) = message.Value;
                switch (code)
                {
                    case FrontendCode.Query:
                        break;
                    case FrontendCode.Terminate:
                        client.Disconnect("client close request", null);
                        return;
                    case FrontendCode.Parse:
                    case FrontendCode.Bind:
                    case FrontendCode.Describe:
                    case FrontendCode.Execute:
                    case FrontendCode.Close:
                    case FrontendCode.Sync:
                    case FrontendCode.Flush:
                        client.Disconnect("extended query protocol not supported by admin console", SqlState.ProtocolViolation);
                        return;
                    default:
                        client.Disconnect($"unsupported packet type '{(char)code}' in admin console", SqlState.ProtocolViolation);
                        return;
                }

                if (!counted)
                {
                    counted = true;
                    state.ConsoleStats.AddConsoleSession();
                }
                var query = ReadQueryText(body);
                Volatile.Write(ref session.RequestTimestamp, pooler.Time.GetTimestamp());
                session.Busy = true;
                output.Clear();
                var ctx = new AdminContext(pooler, session, output);
                try
                {
                    if (query.Trim().TrimEnd(';').Trim().Length == 0)
                    {
                        // An empty query gets EmptyQueryResponse, as from PostgreSQL.
                        output.StartMessage((byte)'I', 0);
                        output.EndMessage();
                    }
                    else
                    {
                        await AdminCommands.ExecuteAsync(ctx, query).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is not (SocketException or ObjectDisposedException or OperationCanceledException))
                {
                    Log.UnexpectedError(pooler.Logger, "admin console", e);
                    output.Clear();
                    AdminMessages.WriteError(output, SqlState.ProtocolViolation, "internal error while running the command");
                }
                finally
                {
                    session.Busy = false;
                }
                if (ctx.ShutdownRequested)
                {
                    // PgBouncer answers nothing: the connection ends with the process.
                    client.Disconnect("SHUTDOWN command issued", null);
                    return;
                }
                output.WriteBytes(Pregenerated.ReadyForQueryIdle);
                await connection.SendAsync(output.Written, token).ConfigureAwait(false);
            }
        }
        finally
        {
            state.Consoles.TryRemove(client.Id, out _);
        }
    }

    /// <summary>The body of a Query message: NUL-terminated UTF-8.</summary>
    internal static string ReadQueryText(ReadOnlySpan<byte> body)
    {
        var end = body.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end >= 0 ? body[..end] : body);
    }
}

/// <summary>Reads whole typed messages for the console, starting with the bytes the login left over.</summary>
internal sealed class AdminMessageReader(Connection connection, byte[] leftover, int maxMessage)
{
    private byte[] _buffer = leftover.Length > 0 ? leftover : new byte[1024];
    private int _start;
    private int _end = leftover.Length;

    /// <summary>The next message's code and body (after the length), or null at EOF.</summary>
    public async ValueTask<(byte Code, byte[] Body)?> ReadAsync(CancellationToken token)
    {
        if (!await FillAsync(5, token).ConfigureAwait(false))
        {
            return null;
        }
        var code = _buffer[_start];
        var length = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(_start + 1));
        if (length < 4 || length > maxMessage)
        {
            throw new ProtocolViolationException("invalid packet length");
        }
        if (!await FillAsync(length + 1, token).ConfigureAwait(false))
        {
            return null;
        }
        var body = _buffer.AsSpan(_start + 5, length - 4).ToArray();
        _start += length + 1;
        return (code, body);
    }

    private async ValueTask<bool> FillAsync(int count, CancellationToken token)
    {
        while (_end - _start < count)
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            if (_buffer.Length < count || _end == _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(count, Math.Max(1024, _buffer.Length * 2)));
            }
            var n = await connection.ReceiveAsync(_buffer.AsMemory(_end), token).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }
            _end += n;
        }
        return true;
    }
}
