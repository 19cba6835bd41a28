using Sluice.Config;

namespace Sluice.Pooling;

public sealed class PoolSettingsTests
{
    private static PoolerConfig Config(string main) => ConfigLoader.LoadText("[pgbouncer]\n" + main, "test.ini");

    private const string Globals = """
        pool_mode = transaction
        default_pool_size = 7
        min_pool_size = 1
        reserve_pool_size = 2
        reserve_pool_timeout = 3
        max_db_connections = 40
        max_user_connections = 50
        server_lifetime = 100
        server_idle_timeout = 200
        query_wait_timeout = 30
        query_timeout = 31
        idle_transaction_timeout = 32
        transaction_timeout = 33
        client_idle_timeout = 34
        server_round_robin = 1

        """;

    [Fact]
    public void GlobalDefaults()
    {
        var settings = PoolSettings.Resolve(Config(""), DatabaseEntry.Parse("db", "host=h"), null);

        Assert.Equal(PoolMode.Session, settings.Mode);
        Assert.Equal(20, settings.PoolSize);
        Assert.False(settings.RoundRobin);
    }

    [Fact]
    public void GlobalSettings_ApplyWhenNothingOverrides()
    {
        var settings = PoolSettings.Resolve(Config(Globals), DatabaseEntry.Parse("db", "host=h"), UserEntry.Parse("u", ""));

        Assert.Equal(PoolMode.Transaction, settings.Mode);
        Assert.Equal(7, settings.PoolSize);
        Assert.True(settings.RoundRobin);
        Assert.Equal(1, settings.MinPoolSize);
        Assert.Equal(2, settings.ReservePoolSize);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.ReservePoolTimeout);
        Assert.Equal(40, settings.MaxDbConnections);
        Assert.Equal(50, settings.MaxUserConnections);
        Assert.Equal(TimeSpan.FromSeconds(100), settings.ServerLifetime);
        Assert.Equal(TimeSpan.FromSeconds(200), settings.ServerIdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.QueryWaitTimeout);
        Assert.Equal(TimeSpan.FromSeconds(31), settings.QueryTimeout);
        Assert.Equal(TimeSpan.FromSeconds(32), settings.IdleTransactionTimeout);
        Assert.Equal(TimeSpan.FromSeconds(33), settings.TransactionTimeout);
        Assert.Equal(TimeSpan.FromSeconds(34), settings.ClientIdleTimeout);
    }

    [Fact]
    public void Database_BeatsGlobal()
    {
        var db = DatabaseEntry.Parse("db",
            "host=h pool_mode=statement pool_size=3 min_pool_size=2 reserve_pool_size=4 max_db_connections=9 server_lifetime=60 query_wait_timeout=5");

        var settings = PoolSettings.Resolve(Config(Globals), db, null);

        Assert.Equal(PoolMode.Statement, settings.Mode);
        Assert.Equal(3, settings.PoolSize);
        Assert.Equal(2, settings.MinPoolSize);
        Assert.Equal(4, settings.ReservePoolSize);
        Assert.Equal(9, settings.MaxDbConnections);
        Assert.Equal(TimeSpan.FromSeconds(60), settings.ServerLifetime);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.QueryWaitTimeout);
    }

    [Fact]
    public void User_BeatsDatabaseAndGlobal()
    {
        var db = DatabaseEntry.Parse("db", "host=h pool_mode=statement pool_size=3 reserve_pool_size=4 query_wait_timeout=5");
        var user = UserEntry.Parse("u",
            "pool_mode=session pool_size=11 reserve_pool_size=6 max_user_connections=12 query_wait_timeout=7 query_timeout=8 idle_transaction_timeout=9 transaction_timeout=10 client_idle_timeout=11");

        var settings = PoolSettings.Resolve(Config(Globals), db, user);

        Assert.Equal(PoolMode.Session, settings.Mode);
        Assert.Equal(11, settings.PoolSize);
        Assert.Equal(6, settings.ReservePoolSize);
        Assert.Equal(12, settings.MaxUserConnections);
        Assert.Equal(TimeSpan.FromSeconds(7), settings.QueryWaitTimeout);
        Assert.Equal(TimeSpan.FromSeconds(8), settings.QueryTimeout);
        Assert.Equal(TimeSpan.FromSeconds(9), settings.IdleTransactionTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.TransactionTimeout);
        Assert.Equal(TimeSpan.FromSeconds(11), settings.ClientIdleTimeout);
    }

    [Fact]
    public void Precedence_IsPerSetting()
    {
        // The user sets only the mode, the database only the size.
        var settings = PoolSettings.Resolve(
            Config(Globals),
            DatabaseEntry.Parse("db", "host=h pool_size=3"),
            UserEntry.Parse("u", "pool_mode=statement"));

        Assert.Equal(PoolMode.Statement, settings.Mode);
        Assert.Equal(3, settings.PoolSize);
        Assert.Equal(2, settings.ReservePoolSize);   // global
    }

    [Fact]
    public void UserSizeWithoutDatabaseSize_BeatsGlobal()
    {
        var settings = PoolSettings.Resolve(Config("default_pool_size = 7\n"), DatabaseEntry.Parse("db", "host=h"), UserEntry.Parse("u", "pool_size=2"));

        Assert.Equal(2, settings.PoolSize);
        Assert.Equal(PoolMode.Session, settings.Mode);
    }

    [Fact]
    public void ExplicitZero_OnDatabase_IsKept()
    {
        // 0 = unlimited since PgBouncer 1.24; an explicit 0 on the database must not fall back to the global value.
        var settings = PoolSettings.Resolve(Config(Globals), DatabaseEntry.Parse("db", "host=h pool_size=0 max_db_connections=0"), null);

        Assert.Equal(0, settings.PoolSize);
        Assert.Equal(0, settings.MaxDbConnections);
    }

    [Fact]
    public void ExplicitZero_QueryWaitTimeoutOnUser_BeatsDatabase()
    {
        var settings = PoolSettings.Resolve(
            Config(Globals),
            DatabaseEntry.Parse("db", "host=h query_wait_timeout=5"),
            UserEntry.Parse("u", "query_wait_timeout=0"));

        Assert.Equal(TimeSpan.Zero, settings.QueryWaitTimeout);
    }
}
