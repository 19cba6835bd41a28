using Sluice.Pooling;

namespace Sluice.Tests.Pooling;

/// <summary>The cancel key layout peered processes agree on (PgBouncer 1.21+).</summary>
public sealed class PeerCancelKeyTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(300)]
    [InlineData(16383)]
    public void Stamp_PutsThePeerIdInBytesOneAndTwo(int peerId)
    {
        var (pid, key) = PeerCancelKey.Stamp(0x7ABBCCDD, 0x11223344, peerId);

        Assert.Equal(peerId, PeerCancelKey.PeerOf(pid));
        Assert.Equal(0x7A, (pid >> 24) & 0xFF);       // byte 0 stays random
        Assert.Equal(0xDD, pid & 0xFF);               // byte 3 too
        Assert.Equal(peerId & 0xFF, (pid >> 16) & 0xFF);
        Assert.Equal(PeerCancelKey.TtlMask, PeerCancelKey.TtlOf(key));
        Assert.Equal(0x11223344 | 3, key);
    }

    [Fact]
    public void EachHop_UsesOneTtl()
    {
        var (_, key) = PeerCancelKey.Stamp(1, 0, 5);
        Assert.Equal(3, PeerCancelKey.TtlOf(key));
        Assert.Equal(2, PeerCancelKey.TtlOf(key - 1));
        Assert.Equal(0, PeerCancelKey.TtlOf(key - 3));
    }
}
