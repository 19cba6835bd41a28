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

    public LoginReader(Connection connection, int maxMessage)
    {
        _connection = connection;
        _maxMessage = maxMessage;
    }

    /// <summary>Bytes read past the last returned message (a client that pipelines after login).</summary>
    public ReadOnlySpan<byte> Leftover => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Reads an untyped message (startup, SSLRequest, cancel): returns the body after the length field, or null on EOF.</summary>
    public async ValueTask<byte[]?> ReadUntypedAsync(CancellationToken cancellationToken)
    {
        if (!await EnsureAsync(4, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }
        var length = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(_start));
        if (length < 8 || length > _maxMessage)
        {
            throw new ProtocolViolationException("invalid packet length");
        }
        if (!await EnsureAsync(length, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }
        var body = _buffer.AsSpan(_start + 4, length - 4).ToArray();
        _start += length;
        return body;
    }

    /// <summary>
    /// Reads a typed message; returns false on EOF. With <paramref name="expectedCode"/>, any other type is refused on
    /// its header, before waiting for a body whose length may be garbage (a re-sent startup packet, say).
    /// </summary>
    public async ValueTask<(bool Ok, byte Code, byte[] Body)> ReadTypedAsync(CancellationToken cancellationToken, byte? expectedCode = null)
    {
        if (!await EnsureAsync(5, cancellationToken).ConfigureAwait(false))
        {
            return (false, 0, []);
        }
        var code = _buffer[_start];
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
        if (!await EnsureAsync(length + 1, cancellationToken).ConfigureAwait(false))
        {
            return (false, 0, []);
        }
        var body = _buffer.AsSpan(_start + 5, length - 4).ToArray();
        _start += length + 1;
        return (true, code, body);
    }

    private async ValueTask<bool> EnsureAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count)
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            if (_buffer.Length < count)
            {
                Array.Resize(ref _buffer, Math.Max(count, _buffer.Length * 2));
            }
            var n = await _connection.ReceiveAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }
            _end += n;
        }
        return true;
    }
}
