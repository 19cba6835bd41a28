using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Benchmarks.Forwarding;

/// <summary>
/// A minimal PostgreSQL backend for the forwarding benchmarks: trust login, then every Query gets
/// RowDescription/DataRow/CommandComplete/ReadyForQuery and the extended protocol gets its completions.
/// Unlike tests/Sluice.Testing's FakePostgresServer (async, allocates per reply), it serves each connection on
/// a dedicated thread with blocking sockets and pre-built replies, so it allocates nothing per query; each
/// thread publishes what it did allocate (GC.GetAllocatedBytesForCurrentThread) so the harness can subtract it.
/// </summary>
internal sealed class FakeBackend : IDisposable
{
    private static readonly byte[] LoginReply = Wire.Concat(
        Wire.AuthenticationOk(),
        Wire.ParameterStatus("server_version", "17.0"),
        Wire.ParameterStatus("server_encoding", "UTF8"),
        Wire.ParameterStatus("client_encoding", "UTF8"),
        Wire.ParameterStatus("DateStyle", "ISO, MDY"),
        Wire.ParameterStatus("TimeZone", "UTC"),
        Wire.ParameterStatus("integer_datetimes", "on"),
        Wire.ParameterStatus("standard_conforming_strings", "on"),
        Wire.ParameterStatus("application_name", ""),
        Wire.BackendKeyData(4242, 1234567),
        Wire.ReadyForQuery());

    /// <summary>The reply to one simple Query: the row pgbench's select-only script gets.</summary>
    internal static readonly byte[] QueryReply = Wire.Concat(
        Wire.RowDescription("abalance"), Wire.DataRow("-4211"), Wire.CommandComplete("SELECT 1"), Wire.ReadyForQuery());

    private static readonly byte[] ExecuteReply = Wire.Concat(Wire.DataRow("-4211"), Wire.CommandComplete("SELECT 1"));
    private static readonly byte[] ParseCompleteReply = Wire.ParseComplete();
    private static readonly byte[] BindCompleteReply = Wire.BindComplete();
    private static readonly byte[] CloseCompleteReply = Wire.Message('3', []);
    private static readonly byte[] NoDataReply = Wire.NoData();
    private static readonly byte[] ReadyReply = Wire.ReadyForQuery();

    private const int MaxConnections = 256;
    private readonly Socket _listener;
    private readonly Thread _acceptThread;
    private readonly long[] _allocated = new long[MaxConnections];
    private readonly List<Socket> _connections = [];
    private int _count;
    private volatile bool _stopping;

    public FakeBackend()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        _acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = "fake-pg accept" };
        _acceptThread.Start();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    public int ConnectionCount => Volatile.Read(ref _count);

    /// <summary>Bytes allocated so far by the connection threads (excluding their start-up), summed.</summary>
    public long AllocatedBytes
    {
        get
        {
            long sum = 0;
            for (var i = 0; i < MaxConnections; i++)
            {
                sum += Volatile.Read(ref _allocated[i]);
            }
            return sum;
        }
    }

    private void AcceptLoop()
    {
        while (!_stopping)
        {
            Socket socket;
            try
            {
                socket = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            socket.NoDelay = true;
            var slot = Interlocked.Increment(ref _count) - 1;
            lock (_connections)
            {
                _connections.Add(socket);
            }
            new Thread(() => Serve(socket, slot)) { IsBackground = true, Name = $"fake-pg {slot}" }.Start();
        }
    }

    private void Serve(Socket socket, int slot)
    {
        var input = new byte[256 * 1024];
        var output = new byte[1024 * 1024];
        try
        {
            if (!Login(socket, input))
            {
                return;
            }
            var start = GC.GetAllocatedBytesForCurrentThread();
            var filled = 0;
            while (true)
            {
                var n = socket.Receive(input.AsSpan(filled), SocketFlags.None);
                if (n == 0)
                {
                    return;
                }
                filled += n;
                var pos = 0;
                var outLength = 0;
                while (filled - pos >= 5)
                {
                    var code = input[pos];
                    var size = BinaryPrimitives.ReadInt32BigEndian(input.AsSpan(pos + 1)) + 1;
                    if (filled - pos < size)
                    {
                        break;
                    }
                    var reply = code switch
                    {
                        (byte)'Q' => QueryReply,
                        (byte)'P' => ParseCompleteReply,
                        (byte)'B' => BindCompleteReply,
                        (byte)'D' => NoDataReply,
                        (byte)'E' => ExecuteReply,
                        (byte)'S' => ReadyReply,
                        (byte)'C' => CloseCompleteReply,
                        (byte)'X' => null,
                        _ => [],
                    };
                    if (reply is null)
                    {
                        return;
                    }
                    if (outLength + reply.Length > output.Length)
                    {
                        SendAll(socket, output.AsSpan(0, outLength));
                        outLength = 0;
                    }
                    reply.CopyTo(output.AsSpan(outLength));
                    outLength += reply.Length;
                    pos += size;
                }
                if (outLength > 0)
                {
                    SendAll(socket, output.AsSpan(0, outLength));
                }
                input.AsSpan(pos, filled - pos).CopyTo(input);
                filled -= pos;
                Volatile.Write(ref _allocated[slot], GC.GetAllocatedBytesForCurrentThread() - start);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Sluice closed the server connection.
        }
        finally
        {
            socket.Dispose();
        }
    }

    private static bool Login(Socket socket, byte[] input)
    {
        while (true)
        {
            if (!ReadExactly(socket, input.AsSpan(0, 4)))
            {
                return false;
            }
            var length = BinaryPrimitives.ReadInt32BigEndian(input);
            if (!ReadExactly(socket, input.AsSpan(4, length - 4)))
            {
                return false;
            }
            var code = BinaryPrimitives.ReadInt32BigEndian(input.AsSpan(4));
            if (code is 80877103 or 80877104)   // SSLRequest, GSSENCRequest
            {
                SendAll(socket, "N"u8);
                continue;
            }
            if (code == 80877102)   // CancelRequest
            {
                return false;
            }
            SendAll(socket, LoginReply);
            return true;
        }
    }

    internal static bool ReadExactly(Socket socket, Span<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            var n = socket.Receive(buffer, SocketFlags.None);
            if (n == 0)
            {
                return false;
            }
            buffer = buffer[n..];
        }
        return true;
    }

    internal static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            data = data[socket.Send(data, SocketFlags.None)..];
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _listener.Dispose();
        lock (_connections)
        {
            foreach (var socket in _connections)
            {
                socket.Dispose();
            }
        }
    }
}
