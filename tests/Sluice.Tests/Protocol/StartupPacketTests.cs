using System.Buffers.Binary;
using System.Text;

namespace Sluice.Protocol;

public sealed class StartupPacketTests
{
    /// <summary>The body after the length field: version, then the raw parameter bytes as given.</summary>
    private static byte[] Body(int version, string rest)
    {
        var bytes = Encoding.UTF8.GetBytes(rest);
        var body = new byte[4 + bytes.Length];
        BinaryPrimitives.WriteInt32BigEndian(body, version);
        bytes.CopyTo(body, 4);
        return body;
    }

    [Fact]
    public void TryParse_ReadsParametersInOrder()
    {
        var packet = StartupPacket.TryParse(Body(StartupCode.ProtocolV3, "user\0alice\0database\0db1\0application_name\0psql\0\0"), out var error);

        Assert.Null(error);
        Assert.NotNull(packet);
        Assert.Equal(StartupCode.ProtocolV3, packet.ProtocolVersion);
        Assert.Equal(3, packet.MajorVersion);
        Assert.Equal(0, packet.MinorVersion);
        Assert.Equal(
            [new("user", "alice"), new("database", "db1"), new("application_name", "psql")],
            packet.Parameters);
        Assert.Equal("alice", packet["user"]);
        Assert.Equal("db1", packet["database"]);
        Assert.Null(packet["options"]);
    }

    [Fact]
    public void TryParse_MinorVersionIsLow16Bits()
    {
        var packet = StartupPacket.TryParse(Body((3 << 16) | 2, "user\0u\0\0"), out _);

        Assert.NotNull(packet);
        Assert.Equal(3, packet.MajorVersion);
        Assert.Equal(2, packet.MinorVersion);
    }

    [Fact]
    public void TryParse_NoParameters_OnlyTerminator()
    {
        var packet = StartupPacket.TryParse(Body(StartupCode.ProtocolV3, "\0"), out var error);

        Assert.Null(error);
        Assert.NotNull(packet);
        Assert.Empty(packet.Parameters);
    }

    [Fact]
    public void TryParse_EmptyValue_IsKept()
    {
        var packet = StartupPacket.TryParse(Body(StartupCode.ProtocolV3, "user\0u\0options\0\0\0"), out var error);

        Assert.Null(error);
        Assert.Equal("", packet!["options"]);
    }

    [Fact]
    public void TryParse_Utf8Values()
    {
        var packet = StartupPacket.TryParse(Body(StartupCode.ProtocolV3, "user\0jürgen\0application_name\0日本\0\0"), out _);

        Assert.Equal("jürgen", packet!["user"]);
        Assert.Equal("日本", packet["application_name"]);
    }

    [Theory]
    [InlineData("")]                       // no list at all after the version
    [InlineData("user\0alice\0")]          // pairs complete, terminator missing
    public void TryParse_MissingTerminator(string rest)
    {
        var packet = StartupPacket.TryParse(Body(StartupCode.ProtocolV3, rest), out var error);

        Assert.Null(packet);
        Assert.Equal("invalid startup packet: missing terminator", error);
    }

    [Theory]
    [InlineData("user")]                   // key not terminated
    [InlineData("user\0")]                 // value missing
    [InlineData("user\0alice")]            // value not terminated
    [InlineData("user\0alice\0database")]  // second key not terminated
    public void TryParse_UnterminatedString(string rest)
    {
        var packet = StartupPacket.TryParse(Body(StartupCode.ProtocolV3, rest), out var error);

        Assert.Null(packet);
        Assert.Equal("invalid startup packet: unterminated parameter", error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void TryParse_ShorterThanVersion(int length)
    {
        var packet = StartupPacket.TryParse(new byte[length], out var error);

        Assert.Null(packet);
        Assert.Equal("invalid startup packet", error);
    }

    [Fact]
    public void Indexer_FirstOccurrenceWins()
    {
        var packet = StartupPacket.TryParse(Body(StartupCode.ProtocolV3, "user\0a\0user\0b\0\0"), out _);

        Assert.Equal("a", packet!["user"]);
        Assert.Equal(2, packet.Parameters.Count);
    }
}
