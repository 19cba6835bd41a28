namespace Sluice.Config;

public sealed class ConfigLoaderEnvironmentTests
{
    [Fact]
    public void DbVariables_GiveImageDefaults()
    {
        var env = new Dictionary<string, string>
        {
            ["DB_HOST"] = "pg",
            ["DB_USER"] = "app",
            ["DB_PASSWORD"] = "secret",
            ["POOL_MODE"] = "transaction",
            ["MAX_CLIENT_CONN"] = "",
        };

        var c = ConfigLoader.FromEnvironment(env, out var ini, out var userlist);

        var fallback = Assert.IsType<DatabaseEntry>(c.FallbackDatabase);
        Assert.Equal(["pg"], fallback.Hosts);
        Assert.Equal((5432, "app"), (fallback.Port, fallback.AuthUser));
        Assert.Null(fallback.User);
        Assert.Equal(["0.0.0.0"], c.ListenAddr);
        Assert.Equal(5432, c.ListenPort);
        Assert.Equal("", c.UnixSocketDir);
        Assert.Equal(["postgres"], c.AdminUsers);
        Assert.Equal(["extra_float_digits"], c.IgnoreStartupParameters);
        Assert.Equal(PoolMode.Transaction, c.PoolMode);
        Assert.Equal(100, c.MaxClientConn);
        Assert.Contains("pool_mode = transaction\n", ini, StringComparison.Ordinal);
        // md5 of "secret" + "app", as PostgreSQL stores it.
        Assert.Equal("\"app\" \"md5" + Md5Hex("secretapp") + "\"", userlist);
    }

    [Fact]
    public void DatabaseUrl_OverridesPartsAndIsDecoded()
    {
        var env = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = "postgres://u%40x:p%3Aw@db.example:6543/shop?sslmode=require",
            ["AUTH_TYPE"] = "scram-sha-256",
        };

        var c = ConfigLoader.FromEnvironment(env, out _, out var userlist);

        var shop = c.Databases["shop"];
        Assert.Equal(["db.example"], shop.Hosts);
        Assert.Equal((6543, "u@x"), (shop.Port, shop.AuthUser));
        Assert.Equal(AuthType.ScramSha256, c.AuthType);
        Assert.Equal("\"u@x\" \"p:w\"", userlist);
    }

    [Fact]
    public void MissingHost_IsAnError()
    {
        Assert.Throws<ConfigException>(() => ConfigLoader.FromEnvironment(new Dictionary<string, string>(), out _, out _));
    }

    [Fact]
    public void PerDatabaseVariables_GoToTheDatabaseLine()
    {
        var env = new Dictionary<string, string> { ["DB_HOST"] = "pg", ["TIMEZONE"] = "Europe/Paris", ["POOL_SIZE"] = "7" };

        var c = ConfigLoader.FromEnvironment(env, out _, out var userlist);

        Assert.Equal(("Europe/Paris", 7), (c.FallbackDatabase!.TimeZone, c.FallbackDatabase.PoolSize));
        Assert.Null(userlist);
    }

    private static string Md5Hex(string text) =>
#pragma warning disable CA5351 // PostgreSQL's md5 password format.
        Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
#pragma warning restore CA5351
}
