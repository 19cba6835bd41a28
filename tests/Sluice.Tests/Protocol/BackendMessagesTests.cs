namespace Sluice.Protocol;

public sealed class BackendMessagesTests
{
    private static byte[] Build(Action<MessageBuilder> write)
    {
        var b = new MessageBuilder();
        write(b);
        return b.ToArray();
    }

    private static byte[] Bytes(params object[] parts)
    {
        var list = new List<byte>();
        foreach (var part in parts)
        {
            switch (part)
            {
                case char c: list.Add((byte)c); break;
                case byte x: list.Add(x); break;
                case int i: list.AddRange([(byte)(i >> 24), (byte)(i >> 16), (byte)(i >> 8), (byte)i]); break;
                case string s: list.AddRange(System.Text.Encoding.UTF8.GetBytes(s)); list.Add(0); break;
                case byte[] raw: list.AddRange(raw); break;
                default: throw new ArgumentException(part.GetType().Name);
            }
        }
        return [.. list];
    }

    [Theory]
    [InlineData('I', 0x49)]
    [InlineData('T', 0x54)]
    [InlineData('E', 0x45)]
    public void ReadyForQuery(char status, byte wire)
    {
        Assert.Equal(new byte[] { 0x5A, 0x00, 0x00, 0x00, 0x05, wire }, Build(b => BackendMessages.WriteReadyForQuery(b, (TransactionStatus)status)));
    }

    [Fact]
    public void AuthenticationOk()
    {
        Assert.Equal(
            new byte[] { 0x52, 0, 0, 0, 8, 0, 0, 0, 0 },
            Build(b => BackendMessages.WriteAuthentication(b, AuthRequest.Ok)));
    }

    [Fact]
    public void AuthenticationMd5_CarriesSalt()
    {
        Assert.Equal(
            new byte[] { 0x52, 0, 0, 0, 12, 0, 0, 0, 5, 0xDE, 0xAD, 0xBE, 0xEF },
            Build(b => BackendMessages.WriteAuthentication(b, AuthRequest.Md5Password, [0xDE, 0xAD, 0xBE, 0xEF])));
    }

    [Fact]
    public void AuthenticationCleartext()
    {
        Assert.Equal(
            new byte[] { 0x52, 0, 0, 0, 8, 0, 0, 0, 3 },
            Build(b => BackendMessages.WriteAuthentication(b, AuthRequest.CleartextPassword)));
    }

    [Fact]
    public void ParameterStatus()
    {
        var expected = Bytes('S', 4 + 9 + 4, "TimeZone", "UTC");
        Assert.Equal(expected, Build(b => BackendMessages.WriteParameterStatus(b, "TimeZone", "UTC")));
    }

    [Fact]
    public void ParameterStatus_EmptyValue()
    {
        Assert.Equal(Bytes('S', 4 + 17 + 1, "application_name", ""), Build(b => BackendMessages.WriteParameterStatus(b, "application_name", "")));
    }

    [Fact]
    public void BackendKeyData()
    {
        Assert.Equal(
            new byte[] { 0x4B, 0, 0, 0, 12, 0x12, 0x34, 0x56, 0x78, 0xFF, 0xFF, 0xFF, 0xFF },
            Build(b => BackendMessages.WriteBackendKeyData(b, 0x12345678, -1)));
    }

    [Fact]
    public void ErrorResponse_FieldsSVCM()
    {
        var expected = Bytes('E', 4 + (1 + 6) + (1 + 6) + (1 + 6) + (1 + 5) + 1,
            'S', "FATAL", 'V', "FATAL", 'C', "08P01", 'M', "boom", (byte)0);

        Assert.Equal(expected, Build(b => BackendMessages.WriteError(b, "FATAL", "08P01", "boom")));
    }

    [Fact]
    public void NoticeResponse_SameFieldsDifferentCode()
    {
        var bytes = Build(b => BackendMessages.WriteError(b, "NOTICE", "00000", "hi", notice: true));

        Assert.Equal((byte)'N', bytes[0]);
        Assert.Equal(Bytes('N', bytes.Length - 1, 'S', "NOTICE", 'V', "NOTICE", 'C', "00000", 'M', "hi", (byte)0), bytes);
    }

    [Fact]
    public void ErrorResponse_Utf8Message_LengthCountsBytes()
    {
        var bytes = Build(b => BackendMessages.WriteError(b, "ERROR", "XX000", "ünïcödé"));
        var length = (bytes[1] << 24) | (bytes[2] << 16) | (bytes[3] << 8) | bytes[4];

        Assert.Equal(bytes.Length - 1, length);
        var fields = ErrorFields.Parse(bytes.AsSpan(5));
        Assert.Equal(new ErrorFields("ERROR", "XX000", "ünïcödé"), fields);
    }

    [Fact]
    public void NegotiateProtocolVersion_ListsOptions()
    {
        var expected = Bytes('v', 4 + 4 + 4 + 9 + 9, 0, 2, "_pq_.foo", "_pq_.bar");

        Assert.Equal(expected, Build(b => BackendMessages.WriteNegotiateProtocolVersion(b, 0, ["_pq_.foo", "_pq_.bar"])));
    }

    [Fact]
    public void NegotiateProtocolVersion_NoOptions()
    {
        Assert.Equal(Bytes('v', 12, 0, 0), Build(b => BackendMessages.WriteNegotiateProtocolVersion(b, 0, [])));
    }
}
