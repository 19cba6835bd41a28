using System.Security.Cryptography;
using System.Text;
using static Sluice.Auth.ScramTestVectors;

namespace Sluice.Auth;

public sealed class PasswordSecretTests
{
    [Fact]
    public void Md5HashIsRecognised()
    {
        var secret = Assert.IsType<Md5Secret>(PasswordSecret.Parse("md54489eed4ef8fbc7dd325ec0f630f2af1"));
        Assert.Equal("md54489eed4ef8fbc7dd325ec0f630f2af1", secret.Hash);
    }

    [Theory]
    [InlineData("md54489EED4EF8FBC7DD325EC0F630F2AF1")] // PostgreSQL only accepts lowercase hex
    [InlineData("md54489eed4ef8fbc7dd325ec0f630f2af")]
    [InlineData("md54489eed4ef8fbc7dd325ec0f630f2af1x")]
    [InlineData("md5")]
    [InlineData("hunter2")]
    [InlineData("")]
    public void OtherTextIsPlaintext(string text)
    {
        var secret = Assert.IsType<PlainSecret>(PasswordSecret.Parse(text));
        Assert.Equal(text, secret.Password);
    }

    [Fact]
    public void PostgresScramSecretRoundTrips()
    {
        var secret = Assert.IsType<ScramSecret>(PasswordSecret.Parse(PostgresScramSecret));
        Assert.Equal(4096, secret.Iterations);
        Assert.Equal(16, secret.Salt.Length);
        Assert.Equal(32, secret.StoredKey.Length);
        Assert.Equal(32, secret.ServerKey.Length);
        Assert.Equal(PostgresScramSecret, secret.ToString());
    }

    [Fact]
    public void FromPasswordReproducesPostgresSecret()
    {
        var stored = Assert.IsType<ScramSecret>(PasswordSecret.Parse(PostgresScramSecret));
        var derived = ScramSecret.FromPassword(PostgresSecretPassword, stored.Salt, stored.Iterations);
        Assert.Equal(PostgresScramSecret, derived.ToString());
    }

    [Theory]
    [InlineData("SCRAM-SHA-256$4096:L7IZNWl6ZhffxsKBnfM+bw==")]
    [InlineData("SCRAM-SHA-256$0:L7IZNWl6ZhffxsKBnfM+bw==$XLrutR5BHYFqLrbsIfX36ecDBDeIxSa89GUk5bQu6b0=:B0Zrw4StOgaSNwenJzdD1q9UfLsEmEL368bxkJFCqgw=")]
    [InlineData("SCRAM-SHA-256$-1:L7IZNWl6ZhffxsKBnfM+bw==$XLrutR5BHYFqLrbsIfX36ecDBDeIxSa89GUk5bQu6b0=:B0Zrw4StOgaSNwenJzdD1q9UfLsEmEL368bxkJFCqgw=")]
    [InlineData("SCRAM-SHA-256$4096:$XLrutR5BHYFqLrbsIfX36ecDBDeIxSa89GUk5bQu6b0=:B0Zrw4StOgaSNwenJzdD1q9UfLsEmEL368bxkJFCqgw=")]
    [InlineData("SCRAM-SHA-256$4096:L7IZNWl6ZhffxsKBnfM+bw==$not*base64:B0Zrw4StOgaSNwenJzdD1q9UfLsEmEL368bxkJFCqgw=")]
    [InlineData("SCRAM-SHA-256$4096:L7IZNWl6ZhffxsKBnfM+bw==$XLrutR5BHYFqLrbs:B0Zrw4StOgaSNwenJzdD1q9UfLsEmEL368bxkJFCqgw=")]
    [InlineData("SCRAM-SHA-1$4096:L7IZNWl6ZhffxsKBnfM+bw==$XLrutR5BHYFqLrbsIfX36ecDBDeIxSa89GUk5bQu6b0=:B0Zrw4StOgaSNwenJzdD1q9UfLsEmEL368bxkJFCqgw=")]
    public void MalformedScramSecretIsPlaintextLikePostgres(string text)
    {
        Assert.False(ScramSecret.TryParse(text, out _));
        Assert.IsType<PlainSecret>(PasswordSecret.Parse(text));
    }

    [Fact]
    public void PasswordEquivalentSecretsAreNotRendered()
    {
        Assert.DoesNotContain("hunter2", PasswordSecret.Parse("hunter2").ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("4489eed4", PasswordSecret.Parse("md54489eed4ef8fbc7dd325ec0f630f2af1").ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void PlainPasswordSaltIsStablePerUserAndDiffersAcrossUsers()
    {
        var a1 = ScramSecret.ForPlainPassword("alice", "pw", 4096);
        var a2 = ScramSecret.ForPlainPassword("alice", "pw", 4096);
        var b = ScramSecret.ForPlainPassword("bob", "pw", 4096);
        Assert.Equal(a1.ToString(), a2.ToString());
        Assert.NotEqual(a1.Salt, b.Salt);
        Assert.Equal(16, a1.Salt.Length);
    }

    [Fact]
    public void MockSecretLooksLikeARealChallengeButHasRandomKeys()
    {
        var real = ScramSecret.ForPlainPassword("ghost", "pw", 4096);
        var mock1 = ScramSecret.CreateMock("ghost", 4096);
        var mock2 = ScramSecret.CreateMock("ghost", 4096);
        Assert.Equal(real.Salt, mock1.Salt);
        Assert.Equal(mock1.Salt, mock2.Salt);
        Assert.NotEqual(mock1.StoredKey, mock2.StoredKey);
    }

    [Fact]
    public void CacheMatchesDirectPbkdf2AndHandsOutCopies()
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var expected = Rfc2898DeriveBytes.Pbkdf2("cache-test"u8, salt, 17, HashAlgorithmName.SHA256, 32);
        var first = SaltedPasswordCache.Get("cache-test", salt, 17);
        Assert.Equal(expected, first);
        first[0] ^= 0xFF;
        Assert.Equal(expected, SaltedPasswordCache.Get("cache-test", salt, 17));
    }

    [Fact]
    public void CacheKeysOnSaltAndIterations()
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var a = SaltedPasswordCache.Get("k", salt, 3);
        Assert.NotEqual(a, SaltedPasswordCache.Get("k", salt, 4));
        Assert.NotEqual(a, SaltedPasswordCache.Get("k", RandomNumberGenerator.GetBytes(16), 3));
        Assert.NotEqual(a, SaltedPasswordCache.Get("K", salt, 3));
    }

    [Fact]
    public void CacheIsBounded()
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        for (var i = 0; i < SaltedPasswordCache.Capacity + 100; i++)
        {
            SaltedPasswordCache.Get("bounded-" + i, salt, 1);
        }

        Assert.InRange(SaltedPasswordCache.Count, 1, SaltedPasswordCache.Capacity);
    }

    [Fact]
    public void CacheIsThreadSafe()
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var expected = Rfc2898DeriveBytes.Pbkdf2("storm"u8, salt, 64, HashAlgorithmName.SHA256, 32);
        Parallel.For(0, 200, i => Assert.Equal(expected, SaltedPasswordCache.Get("storm", salt, 64)));
    }

    [Fact]
    public void PasswordIsNormalisedWithNfkc()
    {
        // U+2163 ROMAN NUMERAL FOUR is compatibility-equivalent to "IV"; U+00AA to "a". Under
        // InvariantGlobalization .NET cannot normalise, and the password is then used as typed.
        var salt = RandomNumberGenerator.GetBytes(16);
        var expectedText = ScramPrimitives.NormalizationAvailable ? "IVa" : "\u2163\u00AA";
        var expectedKey = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(expectedText), salt, 2, HashAlgorithmName.SHA256, 32);
        Assert.Equal(expectedKey, SaltedPasswordCache.Get("\u2163\u00AA", salt, 2));

        // Non-ASCII that NFKC leaves alone is hashed as UTF-8.
        var expected = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes("pässwörd"), salt, 2, HashAlgorithmName.SHA256, 32);
        Assert.Equal(expected, SaltedPasswordCache.Get("pässwörd", salt, 2));
    }

    [Fact]
    public void InvalidUtf16PasswordIsUsedUnchanged()
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var expected = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes("a\uD800b"), salt, 2, HashAlgorithmName.SHA256, 32);
        Assert.Equal(expected, SaltedPasswordCache.Get("a\uD800b", salt, 2));
    }
}
