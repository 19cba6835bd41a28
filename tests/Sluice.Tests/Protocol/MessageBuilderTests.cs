namespace Sluice.Protocol;

public sealed class MessageBuilderTests
{
    [Fact]
    public void WriteInt32_IsBigEndian()
    {
        var b = new MessageBuilder();
        b.WriteInt32(0x01020304);
        b.WriteInt32(-2);

        Assert.Equal(new byte[] { 1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFE }, b.ToArray());
    }

    [Fact]
    public void WriteInt16_IsBigEndian()
    {
        var b = new MessageBuilder();
        b.WriteInt16(0x0102);
        b.WriteInt16(-1);

        Assert.Equal(new byte[] { 1, 2, 0xFF, 0xFF }, b.ToArray());
    }

    [Fact]
    public void TypedMessage_LengthCountsItselfButNotTheCode()
    {
        var b = new MessageBuilder();
        b.StartMessage((byte)'Q', 3);
        b.WriteBytes("ab\0"u8);
        b.EndMessage();

        Assert.Equal(new byte[] { (byte)'Q', 0, 0, 0, 7, (byte)'a', (byte)'b', 0 }, b.ToArray());
        Assert.Equal(8, b.Length);
        Assert.Equal(b.ToArray(), b.Written.ToArray());
    }

    [Fact]
    public void UntypedMessage_LengthCountsItself()
    {
        var b = new MessageBuilder();
        b.StartUntypedMessage(4);
        b.WriteInt32(StartupCode.SslRequest);
        b.EndMessage();

        Assert.Equal(new byte[] { 0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F }, b.ToArray());
    }

    [Fact]
    public void EndMessage_ShortBody_Throws()
    {
        var b = new MessageBuilder();
        b.StartMessage((byte)'Q', 4);
        b.WriteByte(1);

        var e = Assert.Throws<InvalidOperationException>(b.EndMessage);
        Assert.Contains("length mismatch", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void EndMessage_LongBody_Throws()
    {
        var b = new MessageBuilder();
        b.StartMessage((byte)'Q', 1);
        b.WriteInt32(1);

        Assert.Throws<InvalidOperationException>(b.EndMessage);
    }

    [Fact]
    public void EndMessage_UntypedMismatch_Throws()
    {
        var b = new MessageBuilder();
        b.StartUntypedMessage(8);
        b.WriteInt32(1);

        Assert.Throws<InvalidOperationException>(b.EndMessage);
    }

    [Fact]
    public void SeveralMessages_AreConcatenated_AndEachIsChecked()
    {
        var b = new MessageBuilder(4);   // forces growth
        b.StartMessage((byte)'Z', 1);
        b.WriteByte((byte)'I');
        b.EndMessage();
        b.StartMessage((byte)'X', 0);
        b.EndMessage();

        Assert.Equal(new byte[] { (byte)'Z', 0, 0, 0, 5, (byte)'I', (byte)'X', 0, 0, 0, 4 }, b.ToArray());
    }

    [Fact]
    public void Grows_BeyondInitialCapacity()
    {
        var b = new MessageBuilder(1);
        var payload = Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray();
        b.StartMessage((byte)'d', payload.Length);
        b.WriteBytes(payload);
        b.EndMessage();

        var bytes = b.ToArray();
        Assert.Equal(5 + payload.Length, bytes.Length);
        Assert.Equal(payload, bytes[5..]);
        Assert.Equal(new byte[] { (byte)'d', 0, 0, 0x27, 0x14 }, bytes[..5]);   // 10004
    }

    [Fact]
    public void WriteCString_IsUtf8AndNulTerminated()
    {
        var b = new MessageBuilder();
        b.WriteCString("é");
        b.WriteCString("");

        Assert.Equal(new byte[] { 0xC3, 0xA9, 0, 0 }, b.ToArray());
    }

    [Theory]
    [InlineData("", 1)]
    [InlineData("abc", 4)]
    [InlineData("é", 3)]
    [InlineData("日本", 7)]
    public void CStringLength_CountsUtf8BytesAndTerminator(string value, int expected)
    {
        Assert.Equal(expected, MessageBuilder.CStringLength(value));
    }

    [Fact]
    public void Clear_StartsOver()
    {
        var b = new MessageBuilder();
        b.WriteInt32(7);
        b.Clear();
        b.WriteByte(1);

        Assert.Equal(new byte[] { 1 }, b.ToArray());
    }
}
