using System.Buffers.Binary;
using System.Net.Sockets;

namespace Sluice.Transport;

/// <summary>
/// Reads whole messages during login, where a few allocations per connection do not matter and
/// simplicity does. The forwarding path never uses this.
/// </summary>
internal sealed class LoginReader
{
    private readonly Connection _connection;
    private readonly int _maxMessage;
    private byte[] _buffer = new byte[256];
    private int _start;
    private int _end;
    private int _wanted;   // length of the message whose header is in the buffer, so the buffer can hold it

    public LoginReader(Connection connection, int maxMessage)
    {
        _connection = connection;
        _maxMessage = maxMessage;
    }

    /// <summary>Bytes read past the last returned message (a client that pipelines after login).</summary>
    public ReadOnlySpan<byte> Leftover => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Reads an untyped message (startup, SSLRequest, cancel): returns the body after the length field, or null on EOF.</summary>
    public ValueTask<byte[]?> ReadUntypedAsync(CancellationToken cancellationToken) =>
        TryTakeUntyped(out var body) ? new(body) : ReadUntypedSlowAsync(cancellationToken);

    /// <summary>
    /// Reads a typed message; returns false on EOF. With <paramref name="expectedCode"/>, any other type is refused on
    /// its header, before waiting for a body whose length may be garbage (a re-sent startup packet, say).
    /// </summary>
    public ValueTask<(bool Ok, byte Code, byte[] Body)> ReadTypedAsync(CancellationToken cancellationToken, byte? expectedCode = null) =>
        TryTakeTyped(expectedCode, out var code, out var body) ? new((true, code, body)) : ReadTypedSlowAsync(cancellationToken, expectedCode);

    // The slow paths receive until the message is complete in one async method, so a login's read that has to wait
    // completes through one state machine rather than a chain of them.
    private async ValueTask<byte[]?> ReadUntypedSlowAsync(CancellationToken cancellationToken)
    {
        byte[]? body;
        while (!TryTakeUntyped(out body))
        {
            var n = await _connection.ReceiveAsync(FreeSpace(), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return null;
            }
            _end += n;
        }
        return body;
    }

    private async ValueTask<(bool Ok, byte Code, byte[] Body)> ReadTypedSlowAsync(CancellationToken cancellationToken, byte? expectedCode)
    {
        byte code;
        byte[]? body;
        while (!TryTakeTyped(expectedCode, out code, out body))
        {
            var n = await _connection.ReceiveAsync(FreeSpace(), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return (false, 0, []);
            }
            _end += n;
        }
        return (true, code, body);
    }

    private bool TryTakeUntyped([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? body)
    {
        body = null;
        if (_end - _start < 4)
        {
            return false;
        }
        var length = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(_start));
        if (length < 8 || length > _maxMessage)
        {
            throw new ProtocolViolationException("invalid packet length");
        }
        if (_end - _start < length)
        {
            _wanted = length;
            return false;
        }
        body = _buffer.AsSpan(_start + 4, length - 4).ToArray();
        _start += length;
        _wanted = 0;
        return true;
    }

    private bool TryTakeTyped(byte? expectedCode, out byte code, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? body)
    {
        body = null;
        code = 0;
        if (_end - _start < 5)
        {
            return false;
        }
        code = _buffer[_start];
        if (expectedCode is { } expected && code != expected)
        {
            throw new ProtocolViolationException(code == 0
                ? "client re-sent startup pkt"
                : $"expected password response, got message type {(char)code}");
        }
        var length = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(_start + 1));
        if (length < 4 || length > _maxMessage)
        {
            throw new ProtocolViolationException("invalid packet length");
        }
        if (_end - _start < length + 1)
        {
            _wanted = length + 1;
            return false;
        }
        body = _buffer.AsSpan(_start + 5, length - 4).ToArray();
        _start += length + 1;
        _wanted = 0;
        return true;
    }

    /// <summary>Where the next bytes go: after the unread ones, with room for the message whose header was seen.</summary>
    private Memory<byte> FreeSpace()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_buffer.Length < _wanted || _end == _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_wanted, _buffer.Length * 2));
        }
        return _buffer.AsMemory(_end);
    }
}
