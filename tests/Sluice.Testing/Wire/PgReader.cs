using System.Buffers.Binary;

namespace Sluice.Testing.Wire;

/// <summary>
/// Buffered reading of whole messages from a stream, for the fake server and the raw client. A reset or a
/// closed stream reads as end of stream: both sides of a test see a peer that goes away the same way.
/// </summary>
public sealed class PgReader
{
    private readonly Stream _stream;
    private byte[] _buffer = new byte[8192];
    private int _start;
    private int _end;
    private bool _eof;

    public PgReader(Stream stream) => _stream = stream;

    /// <summary>Messages longer than this are taken for garbage (<see cref="InvalidDataException"/>), not waited for.</summary>
    public int MaxMessageLength { get; init; } = 64 * 1024 * 1024;

    /// <summary>Bytes received but not yet read as a message.</summary>
    public int Buffered => _end - _start;

    /// <summary>Drops the buffered bytes (after they failed to parse) and returns how many there were.</summary>
    public int DiscardBuffered()
    {
        var count = Buffered;
        _start = _end;
        return count;
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes; null on EOF (or reset) before that.</summary>
    public async Task<byte[]?> ReadExactAsync(int count, CancellationToken token)
    {
        if (!await EnsureAsync(count, token).ConfigureAwait(false))
        {
            return null;
        }
        var bytes = _buffer.AsSpan(_start, count).ToArray();
        _start += count;
        return bytes;
    }

    /// <summary>Reads one byte (an SSLRequest's answer); -1 on EOF.</summary>
    public async Task<int> ReadByteAsync(CancellationToken token) =>
        await EnsureAsync(1, token).ConfigureAwait(false) ? _buffer[_start++] : -1;

    /// <summary>
    /// Reads a typed message; null on EOF/reset. A header with an impossible length throws
    /// <see cref="InvalidDataException"/> and leaves its bytes buffered.
    /// </summary>
    public async Task<PgMessage?> ReadMessageAsync(CancellationToken token)
    {
        if (!await EnsureAsync(5, token).ConfigureAwait(false))
        {
            return null;
        }
        var type = (char)_buffer[_start];
        var length = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(_start + 1));
        if (length < 4 || length > MaxMessageLength)
        {
            throw new InvalidDataException($"an impossible message header: type {(int)type}, length {length}");
        }
        if (!await EnsureAsync(1 + length, token).ConfigureAwait(false))
        {
            return null;
        }
        var body = _buffer.AsSpan(_start + 5, length - 4).ToArray();
        _start += 1 + length;
        return new PgMessage(type, body);
    }

    /// <summary>Reads an untyped startup-phase packet; returns its body (after the length), null on EOF.</summary>
    public async Task<byte[]?> ReadUntypedAsync(CancellationToken token)
    {
        var header = await ReadExactAsync(4, token).ConfigureAwait(false);
        if (header is null)
        {
            return null;
        }
        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length < 8 || length > 100_000)
        {
            throw new InvalidDataException($"startup packet with invalid length {length}");
        }
        return await ReadExactAsync(length - 4, token).ConfigureAwait(false);
    }

    /// <summary>Waits until the peer closes the connection (discarding anything it sends); false on timeout/cancel.</summary>
    public async Task<bool> WaitForEofAsync(CancellationToken token)
    {
        try
        {
            while (true)
            {
                _start = _end = 0;
                if (_eof || await ReceiveAsync(token).ConfigureAwait(false) == 0)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<bool> EnsureAsync(int count, CancellationToken token)
    {
        while (_end - _start < count)
        {
            if (_eof)
            {
                return false;
            }
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
            if (await ReceiveAsync(token).ConfigureAwait(false) == 0)
            {
                return false;
            }
        }
        return true;
    }

    private async Task<int> ReceiveAsync(CancellationToken token)
    {
        int n;
        try
        {
            n = await _stream.ReadAsync(_buffer.AsMemory(_end), token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            n = 0;   // reset by the peer, or closed under us: end of stream here
        }
        if (n == 0)
        {
            _eof = true;
        }
        _end += n;
        return n;
    }
}
