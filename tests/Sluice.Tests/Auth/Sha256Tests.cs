using System.Security.Cryptography;
using System.Text;

namespace Sluice.Auth;

public sealed class Sha256Tests
{
    [Theory]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public void MatchesFips180Examples(string message, string expectedHex)
    {
        var hash = new byte[Sha256.HashSize];

        Sha256.Hash(Encoding.ASCII.GetBytes(message), hash);

        Assert.Equal(expectedHex, Convert.ToHexStringLower(hash));
    }

    [Fact]
    public void MatchesThePlatformAtEveryLengthAroundTheBlockAndPaddingEdges()
    {
        var random = new Random(5802);
        var hash = new byte[Sha256.HashSize];
        for (var length = 0; length <= 300; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);

            Sha256.Hash(data, hash);

            Assert.True(SHA256.HashData(data).AsSpan().SequenceEqual(hash), $"length {length}");
        }
    }
}
