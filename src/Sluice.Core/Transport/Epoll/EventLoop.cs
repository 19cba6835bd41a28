using System.Runtime.InteropServices;

namespace Sluice.Transport.Epoll;

/// <summary>
/// One event-loop thread and its own epoll instance, PgBouncer's libevent loop in .NET: it waits for edges on
/// the sockets registered with it and runs each connection's parked continuation right there. Connections are
/// found through a slot table rather than a GC handle, and each registration carries the slot's generation, so
/// an event that arrives after its connection closed (and its slot was reused) is recognised and dropped.
/// </summary>
internal sealed unsafe class EventLoop
{
    private const int MaxEventsPerWait = 256;

    private const uint ReadEvents = LibC.EPOLLIN | LibC.EPOLLRDHUP | LibC.EPOLLET;

    private readonly int _epoll;
    private readonly Lock _slotsLock = new();
    private EpollConnection?[] _slots = new EpollConnection?[64];
    private uint[] _generations = new uint[64];
    private readonly Stack<int> _freeSlots = new();
    private int _nextSlot;

    public EventLoop(int index)
    {
        _epoll = LibC.EpollCreate1(LibC.EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw new System.Net.Sockets.SocketException(EpollConnection.ToSocketError(Marshal.GetLastPInvokeError()));
        }
        var thread = new Thread(Run) { IsBackground = true, Name = $"sluice-io-{index}" };
        thread.UnsafeStart();
    }

    /// <summary>
    /// Adds a socket for its whole life, edge-triggered, for input and hang-ups only: a new socket is writable at
    /// once, and watching that from the start would wake the loop once per connection for nothing. Output is
    /// added by <see cref="WatchWrites"/> when a send first finds the socket buffer full (or a connect starts).
    /// </summary>
    public ulong Register(EpollConnection connection)
    {
        int slot;
        uint generation;
        lock (_slotsLock)
        {
            slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : _nextSlot++;
            if (slot >= _slots.Length)
            {
                Array.Resize(ref _generations, _slots.Length * 2);
                var bigger = new EpollConnection?[_slots.Length * 2];
                _slots.CopyTo(bigger, 0);
                Volatile.Write(ref _slots, bigger);
            }
            generation = ++_generations[slot];
            Volatile.Write(ref _slots[slot], connection);
        }
        var registration = ((ulong)generation << 32) | (uint)slot;
        var epollEvent = stackalloc byte[16];
        LibC.WriteEpollEvent(epollEvent, ReadEvents, registration);
        using var lease = new DescriptorLease(connection.Socket.SafeHandle);
        if (LibC.EpollCtl(_epoll, LibC.EPOLL_CTL_ADD, lease.Descriptor, epollEvent) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Release(slot);
            throw new System.Net.Sockets.SocketException(EpollConnection.ToSocketError(errno));
        }
        return registration;
    }

    /// <summary>
    /// Stops events for a connection; idempotent. A socket about to be closed needs no <c>EPOLL_CTL_DEL</c>: the
    /// kernel drops the registration with the last descriptor, and an event already on its way finds the slot
    /// empty (or another tenant's generation). A detached socket lives on, so it is removed explicitly.
    /// </summary>
    public void Unregister(EpollConnection connection, bool socketLivesOn)
    {
        var slot = (int)(uint)connection.Registration;
        lock (_slotsLock)
        {
            if (!ReferenceEquals(_slots[slot], connection))
            {
                return;
            }
            _slots[slot] = null;
            _freeSlots.Push(slot);
        }
        if (!socketLivesOn)
        {
            return;
        }
        try
        {
            using var lease = new DescriptorLease(connection.Socket.SafeHandle);
            LibC.EpollCtl(_epoll, LibC.EPOLL_CTL_DEL, lease.Descriptor, null);
        }
        catch (ObjectDisposedException)
        {
            // Already closed: the kernel dropped the registration with the descriptor.
        }
    }

    /// <summary>
    /// Adds output edges to a socket's registration. The kernel checks the socket as it changes the registration,
    /// so room that appeared before this call is still reported.
    /// </summary>
    public void WatchWrites(EpollConnection connection)
    {
        using var lease = new DescriptorLease(connection.Socket.SafeHandle);
        var epollEvent = stackalloc byte[16];
        LibC.WriteEpollEvent(epollEvent, ReadEvents | LibC.EPOLLOUT, connection.Registration);
        if (LibC.EpollCtl(_epoll, LibC.EPOLL_CTL_MOD, lease.Descriptor, epollEvent) != 0)
        {
            throw new System.Net.Sockets.SocketException(EpollConnection.ToSocketError(Marshal.GetLastPInvokeError()));
        }
    }

    private void Release(int slot)
    {
        lock (_slotsLock)
        {
            _slots[slot] = null;
            _freeSlots.Push(slot);
        }
    }

    private void Run()
    {
        var size = LibC.EpollEventSize;
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEventsPerWait * size));
        while (true)
        {
            var count = LibC.EpollWait(_epoll, events, MaxEventsPerWait, -1);
            if (count < 0)
            {
                if (Marshal.GetLastPInvokeError() == LibC.EINTR)
                {
                    continue;
                }
                Environment.FailFast("epoll_wait failed: errno " + Marshal.GetLastPInvokeError());
            }
            for (var i = 0; i < count; i++)
            {
                var entry = events + (i * size);
                var registration = *(ulong*)(entry + LibC.EpollDataOffset);
                // Read the table afresh per event: a socket registered after a resize is only in the new table.
                var connection = Volatile.Read(ref Volatile.Read(ref _slots)[(int)(uint)registration]);
                if (connection is null || connection.Registration != registration)
                {
                    continue;
                }
                try
                {
                    connection.OnEvents(*(uint*)entry);
                }
                catch (Exception e)
                {
                    // A continuation's exception belongs to its own loop, which catches everything; reaching here
                    // is a bug, and one connection's bug must not stop the loop that serves the others.
                    Environment.FailFast("unhandled exception on an event-loop thread", e);
                }
            }
        }
    }
}
