using System.Security.Cryptography;
using System.Text;

namespace Sluice.Auth;

public sealed class HmacSha256KeyTests
{
    [Fact]
    public void MatchesRfc4231TestCase2()
    {
        var mac = new HmacSha256Key("Jefe"u8).Compute("what do ya want for nothing?"u8);

        Assert.Equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", Convert.ToHexStringLower(mac));
    }

    [Fact]
    public void HashesKeysLongerThanABlockFirst_Rfc4231TestCase6()
    {
        var key = Enumerable.Repeat((byte)0xaa, 131).ToArray();

        var mac = new HmacSha256Key(key).Compute("Test Using Larger Than Block-Size Key - Hash Key First"u8);

        Assert.Equal("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", Convert.ToHexStringLower(mac));
    }

    [Fact]
    public void MatchesThePlatformForScramSizedKeysAndMessages_AndIsReusable()
    {
        var random = new Random(7677);
        var key = new byte[32];
        random.NextBytes(key);
        var hmac = new HmacSha256Key(key);
        for (var length = 0; length <= 300; length += 7)
        {
            var message = new byte[length];
            random.NextBytes(message);

            Assert.Equal(HMACSHA256.HashData(key, message), hmac.Compute(message));
        }
    }

    [Fact]
    public void ScramServerSignatureOfRfc7677Example()
    {
        // RFC 7677 §3: the server signature of the published exchange, from the ServerKey of password "pencil".
        var salted = Rfc2898DeriveBytes.Pbkdf2("pencil"u8, Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096, HashAlgorithmName.SHA256, 32);
        var serverKey = new HmacSha256Key(salted).Compute("Server Key"u8);
        var authMessage = Encoding.ASCII.GetBytes(
            "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");

        var signature = new HmacSha256Key(serverKey).Compute(authMessage);

        Assert.Equal("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", Convert.ToBase64String(signature));
    }
}
