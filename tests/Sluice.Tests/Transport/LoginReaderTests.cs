using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Transport;

public sealed class LoginReaderTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly Socket _writer;
    private readonly Socket _reader;
    private readonly CancellationTokenSource _timeout = new(Timeout);

    public LoginReaderTests()
    {
        // A connected TCP pair on loopback; NoDelay so each Send is its own segment.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        _writer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _writer.Connect(listener.LocalEndPoint!);
        _reader = listener.Accept();
    }

    public void Dispose()
    {
        _writer.Dispose();
        _reader.Dispose();
        _timeout.Dispose();
    }

    private CancellationToken Token => _timeout.Token;

    private void Send(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var n = _writer.Send(bytes);
            bytes = bytes[n..];
        }
    }

    private static byte[] Untyped(int code, ReadOnlySpan<byte> rest)
    {
        var message = new byte[8 + rest.Length];
        BinaryPrimitives.WriteInt32BigEndian(message, message.Length);
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(4), code);
        rest.CopyTo(message.AsSpan(8));
        return message;
    }

    private static byte[] Typed(char code, ReadOnlySpan<byte> body)
    {
        var message = new byte[5 + body.Length];
        message[0] = (byte)code;
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 4 + body.Length);
        body.CopyTo(message.AsSpan(5));
        return message;
    }

    /// <summary>True if the task is still pending after a short grace period (the reader must wait for the rest).</summary>
    private static async Task<bool> StaysPendingAsync(Task task)
    {
        await Task.WhenAny(task, Task.Delay(15));
        return !task.IsCompleted;
    }

    [Fact]
    public async Task ReadUntyped_StartupSplitAtEveryByte()
    {
        var startup = Untyped(3 << 16, "user\0alice\0database\0db\0\0"u8);
        var reader = new LoginReader(new SocketConnection(_reader), 10_000);

        for (var split = 1; split < startup.Length; split++)
        {
            var read = reader.ReadUntypedAsync(Token).AsTask();
            Send(startup.AsSpan(0, split));
            Assert.True(await StaysPendingAsync(read), $"returned early with {split} of {startup.Length} bytes");
            Send(startup.AsSpan(split));

            var body = await read;
            Assert.Equal(startup[4..], body);
            Assert.True(reader.Leftover.IsEmpty);
        }
    }

    [Fact]
    public async Task ReadTyped_SplitAtEveryByte()
    {
        var message = Typed('p', "a password\0"u8);
        var reader = new LoginReader(new SocketConnection(_reader), 10_000);

        for (var split = 1; split < message.Length; split++)
        {
            var read = reader.ReadTypedAsync(Token).AsTask();
            Send(message.AsSpan(0, split));
            Assert.True(await StaysPendingAsync(read), $"returned early with {split} of {message.Length} bytes");
            Send(message.AsSpan(split));

            var (ok, code, body) = await read;
            Assert.True(ok);
            Assert.Equal((byte)'p', code);
            Assert.Equal("a password\0"u8.ToArray(), body);
        }
    }

    [Fact]
    public async Task ReadTyped_ByteByByte()
    {
        var message = Typed('p', new byte[300]);   // larger than the initial buffer
        var reader = new LoginReader(new SocketConnection(_reader), 10_000);

        var read = reader.ReadTypedAsync(Token).AsTask();
        foreach (var b in message)
        {
            Send([b]);
        }

        var (ok, code, body) = await read;
        Assert.True(ok);
        Assert.Equal((byte)'p', code);
        Assert.Equal(300, body.Length);
    }

    [Fact]
    public async Task ReadTyped_EmptyBody_LengthFour()
    {
        var reader = new LoginReader(new SocketConnection(_reader), 10_000);
        Send(Typed('X', []));

        var (ok, code, body) = await reader.ReadTypedAsync(Token);

        Assert.True(ok);
        Assert.Equal((byte)'X', code);
        Assert.Empty(body);
    }

    [Fact]
    public async Task SeveralMessagesInOneSegment_AndLeftover()
    {
        var reader = new LoginReader(new SocketConnection(_reader), 10_000);
        var sslRequest = Untyped(StartupCode(1234, 5679), []);
        var startup = Untyped(3 << 16, "user\0u\0\0"u8);
        var password = Typed('p', "pw\0"u8);
        var query = Typed('Q', "SELECT 1\0"u8);
        Send([.. sslRequest, .. startup, .. password, .. query]);

        Assert.Equal(sslRequest[4..], await reader.ReadUntypedAsync(Token));
        Assert.Equal(startup[4..], await reader.ReadUntypedAsync(Token));
        var (ok, code, body) = await reader.ReadTypedAsync(Token);
        Assert.True(ok);
        Assert.Equal((byte)'p', code);
        Assert.Equal("pw\0"u8.ToArray(), body);

        // Whatever the client pipelined after login is handed over, not lost.
        await WaitForLeftoverAsync(reader, query.Length);
        Assert.Equal(query, reader.Leftover.ToArray());
    }

    private static async Task WaitForLeftoverAsync(LoginReader reader, int length)
    {
        // The query arrived in the same segment as the password; if TCP split it, the reader may not hold it all.
        for (var i = 0; i < 100 && reader.Leftover.Length < length; i++)
        {
            await Task.Delay(10);
        }
    }

    private static int StartupCode(int high, int low) => (high << 16) | low;

    [Fact]
    public async Task LargeMessage_GrowsBuffer()
    {
        var payload = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();
        var reader = new LoginReader(new SocketConnection(_reader), 1 << 20);
        var read = reader.ReadTypedAsync(Token).AsTask();
        var message = Typed('p', payload);
        for (var i = 0; i < message.Length; i += 1000)
        {
            Send(message.AsSpan(i, Math.Min(1000, message.Length - i)));
        }

        var (ok, _, body) = await read;
        Assert.True(ok);
        Assert.Equal(payload, body);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public async Task ReadUntyped_InvalidLength_Throws(int length)
    {
        var reader = new LoginReader(new SocketConnection(_reader), 10_000);
        var header = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, length);
        Send(header);

        await Assert.ThrowsAsync<ProtocolViolationException>(async () => await reader.ReadUntypedAsync(Token));
    }

    [Fact]
    public async Task ReadUntyped_AboveMaximum_ThrowsBeforeReadingBody()
    {
        var reader = new LoginReader(new SocketConnection(_reader), 10_000);
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, 10_001);
        Send(header);   // no body follows: the reader must refuse on the header alone

        await Assert.ThrowsAsync<ProtocolViolationException>(async () => await reader.ReadUntypedAsync(Token));
    }

    [Fact]
    public async Task ReadUntyped_AtMaximum_IsRead()
    {
        var reader = new LoginReader(new SocketConnection(_reader), 100);
        var message = Untyped(3 << 16, new byte[92]);
        Send(message);

        Assert.Equal(96, (await reader.ReadUntypedAsync(Token))!.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public async Task ReadTyped_InvalidLength_Throws(int length)
    {
        var reader = new LoginReader(new SocketConnection(_reader), 10_000);
        var header = new byte[5];
        header[0] = (byte)'p';
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), length);
        Send(header);

        await Assert.ThrowsAsync<ProtocolViolationException>(async () => await reader.ReadTypedAsync(Token));
    }

    [Fact]
    public async Task ReadTyped_AboveMaximum_ThrowsBeforeReadingBody()
    {
        var reader = new LoginReader(new SocketConnection(_reader), 1000);
        var header = new byte[5];
        header[0] = (byte)'p';
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), 1001);
        Send(header);

        await Assert.ThrowsAsync<ProtocolViolationException>(async () => await reader.ReadTypedAsync(Token));
    }

    [Fact]
    public async Task ReadTyped_HugeLength_ThrowsWithoutAllocating()
    {
        var reader = new LoginReader(new SocketConnection(_reader), 1 << 20);
        var header = new byte[5];
        header[0] = (byte)'p';
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), int.MaxValue);
        Send(header);

        await Assert.ThrowsAsync<ProtocolViolationException>(async () => await reader.ReadTypedAsync(Token));
    }

    [Fact]
    public async Task ReadUntyped_EofBeforeAnything_ReturnsNull()
    {
        var reader = new LoginReader(new SocketConnection(_reader), 10_000);
        _writer.Shutdown(SocketShutdown.Send);

        Assert.Null(await reader.ReadUntypedAsync(Token));
    }

    [Fact]
    public async Task ReadUntyped_EofMidMessage_ReturnsNull()
    {
        var reader = new LoginReader(new SocketConnection(_reader), 10_000);
        var startup = Untyped(3 << 16, "user\0u\0\0"u8);
        Send(startup.AsSpan(0, startup.Length - 3));
        _writer.Shutdown(SocketShutdown.Send);

        Assert.Null(await reader.ReadUntypedAsync(Token));
    }

    [Fact]
    public async Task ReadUntyped_EofMidHeader_ReturnsNull()
    {
        var reader = new LoginReader(new SocketConnection(_reader), 10_000);
        Send([0, 0]);
        _writer.Shutdown(SocketShutdown.Send);

        Assert.Null(await reader.ReadUntypedAsync(Token));
    }

    [Fact]
    public async Task ReadTyped_EofMidMessage_NotOk()
    {
        var reader = new LoginReader(new SocketConnection(_reader), 10_000);
        var message = Typed('p', "secret\0"u8);
        Send(message.AsSpan(0, 7));
        _writer.Shutdown(SocketShutdown.Send);

        var (ok, _, _) = await reader.ReadTypedAsync(Token);
        Assert.False(ok);
    }

    [Fact]
    public async Task Cancellation_StopsAPendingRead()
    {
        var reader = new LoginReader(new SocketConnection(_reader), 10_000);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await reader.ReadTypedAsync(cts.Token));
    }
}
