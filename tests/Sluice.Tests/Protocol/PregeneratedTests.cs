namespace Sluice.Protocol;

public sealed class PregeneratedTests
{
    [Fact]
    public void SslRefused_IsN()
    {
        Assert.Equal(new byte[] { (byte)'N' }, Pregenerated.SslRefused);
    }

    [Fact]
    public void AuthenticationOk()
    {
        Assert.Equal(new byte[] { 0x52, 0, 0, 0, 8, 0, 0, 0, 0 }, Pregenerated.AuthenticationOk);
    }

    [Fact]
    public void ReadyForQueryIdle()
    {
        Assert.Equal(new byte[] { 0x5A, 0x00, 0x00, 0x00, 0x05, 0x49 }, Pregenerated.ReadyForQueryIdle);
    }

    [Fact]
    public void Terminate()
    {
        Assert.Equal(new byte[] { 0x58, 0, 0, 0, 4 }, Pregenerated.Terminate);
    }

    [Fact]
    public void SaslScramSha256_ListsOneMechanism()
    {
        byte[] expected = [0x52, 0, 0, 0, 23, 0, 0, 0, 10, .. "SCRAM-SHA-256"u8, 0, 0];

        Assert.Equal(expected, Pregenerated.SaslScramSha256);
    }

    [Fact]
    public void EachMessage_LengthMatchesBytes()
    {
        foreach (var message in new[] { Pregenerated.AuthenticationOk, Pregenerated.ReadyForQueryIdle, Pregenerated.Terminate, Pregenerated.SaslScramSha256 })
        {
            Assert.True(MessageHeader.TryRead(message, int.MaxValue, out _, out var total));
            Assert.Equal(message.Length, total);
        }
    }
}
