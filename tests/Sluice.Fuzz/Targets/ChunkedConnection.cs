using Sluice.Transport;

namespace Sluice.Fuzz;

/// <summary>
/// A <see cref="Connection"/> that hands out a fixed byte stream in chunks of pseudo-random size, so that message
/// boundaries fall at arbitrary points of the reads, as they do on a real socket. Every call completes synchronously.
/// </summary>
internal sealed class ChunkedConnection : Connection
{
    private readonly byte[] _data;
    private readonly int _maxChunk;
    private uint _state;
    private int _position;
    private int _chunkLeft;

    /// <param name="maxChunk">Largest chunk (1 = one byte per read).</param>
    /// <param name="seed">Seeds the chunk sizes, so a given input always splits the same way.</param>
    public ChunkedConnection(byte[] data, int maxChunk, uint seed)
        : base(null!)   // the socket is only used for peer addresses, never by the login reader
    {
        _data = data;
        _maxChunk = Math.Max(1, maxChunk);
        _state = seed | 1;
    }

    /// <summary>Stream bytes not yet handed to a reader.</summary>
    public int Position => _position;

    public int Receives { get; private set; }

    public override ValueTask WaitForDataAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Receives++;
        if (_position >= _data.Length || buffer.IsEmpty)
        {
            return new ValueTask<int>(0);
        }
        if (_chunkLeft == 0)
        {
            _chunkLeft = 1 + (int)(NextRandom() % (uint)_maxChunk);
        }
        var n = Math.Min(Math.Min(_chunkLeft, buffer.Length), _data.Length - _position);
        _data.AsSpan(_position, n).CopyTo(buffer.Span);
        _position += n;
        _chunkLeft -= n;
        return new ValueTask<int>(n);
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public override void TrySendFinal(ReadOnlySpan<byte> data)
    {
    }

    public override void Close()
    {
    }

    private uint NextRandom()
    {
        // xorshift32: deterministic and cheap.
        _state ^= _state << 13;
        _state ^= _state >> 17;
        _state ^= _state << 5;
        return _state;
    }

    /// <summary>Waits for a ValueTask that must already be complete: this connection never blocks.</summary>
    public static T Completed<T>(ValueTask<T> task)
    {
        if (!task.IsCompleted)
        {
            throw new FuzzAssertionException("a read over a synchronous connection did not complete synchronously");
        }
        return task.GetAwaiter().GetResult();
    }
}
