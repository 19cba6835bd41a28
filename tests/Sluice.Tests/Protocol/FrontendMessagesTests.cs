namespace Sluice.Protocol;

public sealed class FrontendMessagesTests
{
    private static byte[] Build(Action<MessageBuilder> write)
    {
        var b = new MessageBuilder();
        write(b);
        return b.ToArray();
    }

    [Fact]
    public void Startup_VersionParametersTerminator()
    {
        var bytes = Build(b => FrontendMessages.WriteStartup(b, [new("user", "u"), new("database", "d")]));

        byte[] expected =
        [
            0, 0, 0, 27,               // 4 + 4 + "user\0u\0" (7) + "database\0d\0" (11) + 1
            0, 3, 0, 0,
            .. "user\0u\0database\0d\0"u8,
            0,
        ];
        Assert.Equal(expected, bytes);

        var parsed = StartupPacket.TryParse(bytes.AsSpan(4), out var error);
        Assert.Null(error);
        Assert.Equal("u", parsed!["user"]);
        Assert.Equal("d", parsed["database"]);
    }

    [Fact]
    public void Startup_NoParameters()
    {
        Assert.Equal(new byte[] { 0, 0, 0, 9, 0, 3, 0, 0, 0 }, Build(b => FrontendMessages.WriteStartup(b, [])));
    }

    [Fact]
    public void Query()
    {
        Assert.Equal(
            (byte[])[(byte)'Q', 0, 0, 0, 13, .. "SELECT 1\0"u8],
            Build(b => FrontendMessages.WriteQuery(b, "SELECT 1")));
    }

    [Fact]
    public void Query_Empty()
    {
        Assert.Equal(new byte[] { (byte)'Q', 0, 0, 0, 5, 0 }, Build(b => FrontendMessages.WriteQuery(b, "")));
    }

    [Fact]
    public void Password_IsNulTerminated()
    {
        Assert.Equal(
            (byte[])[(byte)'p', 0, 0, 0, 9, .. "secr"u8, 0],
            Build(b => FrontendMessages.WritePassword(b, "secr"u8)));
    }

    [Fact]
    public void SaslInitialResponse()
    {
        var bytes = Build(b => FrontendMessages.WriteSaslInitialResponse(b, "SCRAM-SHA-256", "n,,n=,r=abc"u8));

        byte[] expected =
        [
            (byte)'p', 0, 0, 0, 4 + 14 + 4 + 11,
            .. "SCRAM-SHA-256\0"u8,
            0, 0, 0, 11,
            .. "n,,n=,r=abc"u8,
        ];
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void SaslResponse_NoTerminator()
    {
        Assert.Equal(
            (byte[])[(byte)'p', 0, 0, 0, 7, .. "c=x"u8],
            Build(b => FrontendMessages.WriteSaslResponse(b, "c=x"u8)));
    }

    [Fact]
    public void CancelRequest_Is16Bytes()
    {
        Assert.Equal(
            new byte[] { 0, 0, 0, 16, 0x04, 0xD2, 0x16, 0x2E, 0x00, 0x00, 0x30, 0x39, 0xCA, 0xFE, 0xBA, 0xBE },
            Build(b => FrontendMessages.WriteCancelRequest(b, 12345, unchecked((int)0xCAFEBABE))));
    }

    [Fact]
    public void Terminate()
    {
        Assert.Equal(new byte[] { (byte)'X', 0, 0, 0, 4 }, Build(FrontendMessages.WriteTerminate));
    }

    [Fact]
    public void StartupCodes_MatchTheProtocol()
    {
        Assert.Equal(196608, StartupCode.ProtocolV3);
        Assert.Equal(80877102, StartupCode.CancelRequest);
        Assert.Equal(80877103, StartupCode.SslRequest);
        Assert.Equal(80877104, StartupCode.GssEncRequest);
    }
}
