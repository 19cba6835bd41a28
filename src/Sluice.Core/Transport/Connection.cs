using System.Net.Sockets;

namespace Sluice.Transport;

/// <summary>
/// The byte stream of one peer: a plain socket, or TLS over it. Connections read and write only through
/// this, so TLS is a different subclass and not a different code path. Sends always send every byte.
/// </summary>
internal abstract class Connection
{
    protected Connection(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    public virtual bool IsTls => false;

    /// <summary>Completes when data is ready, without a buffer: what an idle connection waits on.</summary>
    public abstract ValueTask WaitForDataAsync(CancellationToken cancellationToken = default);

    public abstract ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>
    /// A read where data is most likely there already (after <see cref="WaitForDataAsync"/>, or the rest of a
    /// message): worth trying as a direct system call before any async machinery.
    /// </summary>
    public virtual ValueTask<int> ReceiveReadyAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ReceiveAsync(buffer, cancellationToken);

    /// <summary>Waits for data and copies the first bytes without consuming them (the TLS ClientHello check).</summary>
    public virtual async ValueTask<int> PeekAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await WaitForDataAsync(cancellationToken).ConfigureAwait(false);
        return Socket.Receive(buffer.Span, SocketFlags.Peek);
    }

    public abstract ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>A last message (an error, Terminate) sent on the way out; never blocks for long and never throws.</summary>
    public abstract void TrySendFinal(ReadOnlySpan<byte> data);

    public abstract void Close();

    /// <summary>
    /// Called before a TLS stream takes the socket over: an engine that watches the socket itself lets go of it,
    /// so only .NET's engine, which SslStream's NetworkStream uses, waits on it from then on.
    /// </summary>
    public virtual void Detach()
    {
    }
}
