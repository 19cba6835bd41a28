using System.Net.Sockets;

namespace Sluice.Transport.Epoll;

/// <summary>
/// The process's event loops, one per core by default (<c>SLUICE_IO_THREADS</c> to change it), made on first
/// use. Connections are spread round-robin at accept or connect; one pool still serves all of them, and a
/// server and its client may sit on different loops (each side's continuation runs on its own socket's loop).
/// </summary>
internal sealed class EventLoopGroup
{
    private static readonly Lazy<EventLoopGroup> SharedGroup = new(() => new EventLoopGroup(ThreadCount()));

    private readonly EventLoop[] _loops;
    private uint _next;

    private EventLoopGroup(int count)
    {
        _loops = new EventLoop[count];
        for (var i = 0; i < count; i++)
        {
            _loops[i] = new EventLoop(i);
        }
    }

    public static EventLoopGroup Shared => SharedGroup.Value;

    public EpollConnection Adopt(Socket socket) =>
        new(socket, _loops[(int)(Interlocked.Increment(ref _next) % (uint)_loops.Length)]);

    private static int ThreadCount() =>
        int.TryParse(Environment.GetEnvironmentVariable("SLUICE_IO_THREADS"), out var count) && count > 0
            ? count
            : Environment.ProcessorCount;
}
