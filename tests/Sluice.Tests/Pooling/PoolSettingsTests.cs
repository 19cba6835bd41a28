using Sluice.Config;

namespace Sluice.Pooling;

public sealed class PoolSettingsTests
{
    private static PoolerConfig Config(string main) => ConfigLoader.LoadText("[pgbouncer]\n" + main, "test.ini");

    [Fact]
    public void GlobalDefaults()
    {
        var settings = PoolSettings.Resolve(Config(""), DatabaseEntry.Parse("db", "host=h"), null);

        Assert.Equal(new PoolSettings(PoolMode.Session, 20, false), settings);
    }

    [Fact]
    public void GlobalSettings_ApplyWhenNothingOverrides()
    {
        var config = Config("pool_mode = transaction\ndefault_pool_size = 7\nserver_round_robin = 1\n");

        var settings = PoolSettings.Resolve(config, DatabaseEntry.Parse("db", "host=h"), UserEntry.Parse("u", ""));

        Assert.Equal(new PoolSettings(PoolMode.Transaction, 7, true), settings);
    }

    [Fact]
    public void Database_BeatsGlobal()
    {
        var config = Config("pool_mode = transaction\ndefault_pool_size = 7\n");

        var settings = PoolSettings.Resolve(config, DatabaseEntry.Parse("db", "host=h pool_mode=statement pool_size=3"), null);

        Assert.Equal(PoolMode.Statement, settings.Mode);
        Assert.Equal(3, settings.PoolSize);
    }

    [Fact]
    public void User_BeatsDatabaseAndGlobal()
    {
        var config = Config("pool_mode = transaction\ndefault_pool_size = 7\n");

        var settings = PoolSettings.Resolve(
            config,
            DatabaseEntry.Parse("db", "host=h pool_mode=statement pool_size=3"),
            UserEntry.Parse("u", "pool_mode=session pool_size=11"));

        Assert.Equal(PoolMode.Session, settings.Mode);
        Assert.Equal(11, settings.PoolSize);
    }

    [Fact]
    public void Precedence_IsPerSetting()
    {
        var config = Config("pool_mode = transaction\ndefault_pool_size = 7\n");

        // The user sets only the mode, the database only the size.
        var settings = PoolSettings.Resolve(
            config,
            DatabaseEntry.Parse("db", "host=h pool_size=3"),
            UserEntry.Parse("u", "pool_mode=statement"));

        Assert.Equal(PoolMode.Statement, settings.Mode);
        Assert.Equal(3, settings.PoolSize);
    }

    [Fact]
    public void UserSizeWithoutDatabaseSize_BeatsGlobal()
    {
        var settings = PoolSettings.Resolve(Config("default_pool_size = 7\n"), DatabaseEntry.Parse("db", "host=h"), UserEntry.Parse("u", "pool_size=2"));

        Assert.Equal(2, settings.PoolSize);
        Assert.Equal(PoolMode.Session, settings.Mode);
    }

    [Fact]
    public void ZeroPoolSize_IsKept()
    {
        // 0 = unlimited since PgBouncer 1.24; an explicit 0 on the database must not fall back to the global size.
        var settings = PoolSettings.Resolve(Config("default_pool_size = 7\n"), DatabaseEntry.Parse("db", "host=h pool_size=0"), null);

        Assert.Equal(0, settings.PoolSize);
    }
}
