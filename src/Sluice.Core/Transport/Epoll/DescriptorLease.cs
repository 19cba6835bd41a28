using System.Runtime.InteropServices;

namespace Sluice.Transport.Epoll;

/// <summary>
/// A reference on a socket's handle for the length of one system call: the socket may be closed by another
/// thread at any moment, and without the reference its descriptor number could be closed and handed to a new
/// socket under the call. Throws <see cref="ObjectDisposedException"/> when the socket is closed already.
/// </summary>
internal ref struct DescriptorLease
{
    private readonly SafeHandle _handle;
    private bool _held;

    public DescriptorLease(SafeHandle handle)
    {
        _handle = handle;
        handle.DangerousAddRef(ref _held);
    }

    public readonly int Descriptor => (int)_handle.DangerousGetHandle();

    public void Dispose()
    {
        if (_held)
        {
            _held = false;
            _handle.DangerousRelease();
        }
    }
}
