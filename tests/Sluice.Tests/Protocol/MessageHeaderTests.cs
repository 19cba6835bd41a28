using System.Buffers.Binary;

namespace Sluice.Protocol;

public sealed class MessageHeaderTests
{
    private static byte[] Header(byte code, int length)
    {
        var header = new byte[MessageHeader.Size];
        header[0] = code;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), length);
        return header;
    }

    [Fact]
    public void TryRead_ExactlyFour_IsAnEmptyBody()
    {
        Assert.True(MessageHeader.TryRead(Header((byte)'X', 4), int.MaxValue, out var code, out var total));
        Assert.Equal((byte)'X', code);
        Assert.Equal(5, total);
    }

    [Fact]
    public void TryRead_TotalSizeIncludesCodeByte()
    {
        Assert.True(MessageHeader.TryRead(Header((byte)'Z', 5), int.MaxValue, out var code, out var total));
        Assert.Equal((byte)'Z', code);
        Assert.Equal(6, total);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void TryRead_LengthThatCannotCountItself_IsRefused(int length)
    {
        Assert.False(MessageHeader.TryRead(Header((byte)'D', length), int.MaxValue, out _, out var total));
        Assert.Equal(0, total);
    }

    [Fact]
    public void TryRead_AboveMaxPacketSize_IsRefused()
    {
        Assert.False(MessageHeader.TryRead(Header((byte)'D', 1001), 1000, out _, out _));
    }

    [Fact]
    public void TryRead_AtMaxPacketSize_IsAccepted()
    {
        Assert.True(MessageHeader.TryRead(Header((byte)'D', 1000), 1000, out _, out var total));
        Assert.Equal(1001, total);
    }

    [Fact]
    public void TryRead_IntMaxValue_WouldOverflowTotal_IsRefused()
    {
        // length + 1 must fit in an int.
        Assert.False(MessageHeader.TryRead(Header((byte)'D', int.MaxValue), int.MaxValue, out _, out _));
        Assert.True(MessageHeader.TryRead(Header((byte)'D', int.MaxValue - 1), int.MaxValue, out _, out var total));
        Assert.Equal(int.MaxValue, total);
    }

    [Fact]
    public void TryRead_LengthIsBigEndian()
    {
        byte[] header = [(byte)'T', 0x00, 0x01, 0x02, 0x03];

        Assert.True(MessageHeader.TryRead(header, int.MaxValue, out _, out var total));
        Assert.Equal(0x00010203 + 1, total);
    }

    [Fact]
    public void TryRead_IgnoresBytesAfterHeader()
    {
        byte[] bytes = [(byte)'C', 0, 0, 0, 8, 1, 2, 3, 4];

        Assert.True(MessageHeader.TryRead(bytes, int.MaxValue, out var code, out var total));
        Assert.Equal((byte)'C', code);
        Assert.Equal(9, total);
    }
}
