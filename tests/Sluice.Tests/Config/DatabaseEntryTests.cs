namespace Sluice.Config;

public sealed class DatabaseEntryTests
{
    [Fact]
    public void EmptyConnString_MeansUnixSocketAndDefaults()
    {
        var db = DatabaseEntry.Parse("foodb", "");

        Assert.Equal("foodb", db.Name);
        Assert.Null(db.DbName);
        Assert.Empty(db.Hosts);
        Assert.Equal(5432, db.Port);
        Assert.Null(db.User);
        Assert.Null(db.PoolSize);
        Assert.Null(db.PoolMode);
    }

    [Fact]
    public void AllKeys_AreParsed()
    {
        var db = DatabaseEntry.Parse(
            "app",
            "dbname=real host=db1,db2 port=6000 user=svc password='p w' auth_user=au auth_query='SELECT 1' auth_dbname=authdb " +
            "pool_size=7 min_pool_size=2 reserve_pool_size=3 pool_mode=transaction max_db_connections=50 max_db_client_connections=60 " +
            "connect_query='SET x = 1' client_encoding=UTF8 datestyle=ISO timezone=UTC application_name=myapp server_lifetime=300 " +
            "load_balance_hosts=disable query_wait_timeout=2.5");

        Assert.Equal("real", db.DbName);
        Assert.Equal(["db1", "db2"], db.Hosts);
        Assert.Equal(6000, db.Port);
        Assert.Equal(("svc", "p w"), (db.User, db.Password));
        Assert.Equal(("au", "SELECT 1", "authdb"), (db.AuthUser, db.AuthQuery, db.AuthDbName));
        Assert.Equal((7, 2, 3), (db.PoolSize, db.MinPoolSize, db.ReservePoolSize));
        Assert.Equal(PoolMode.Transaction, db.PoolMode);
        Assert.Equal((50, 60), (db.MaxDbConnections, db.MaxDbClientConnections));
        Assert.Equal("SET x = 1", db.ConnectQuery);
        Assert.Equal(("UTF8", "ISO", "UTC", "myapp"), (db.ClientEncoding, db.DateStyle, db.TimeZone, db.ApplicationName));
        Assert.Equal(300, db.ServerLifetime);
        Assert.Equal("disable", db.LoadBalanceHosts);
        Assert.Equal(2.5, db.QueryWaitTimeout);
    }

    [Fact]
    public void OldReservePoolKey_IsAccepted()
    {
        Assert.Equal(4, DatabaseEntry.Parse("d", "reserve_pool=4").ReservePoolSize);
    }

    [Fact]
    public void UnixSocketDirHost_IsKeptAsWritten()
    {
        Assert.Equal(["/var/run/postgresql"], DatabaseEntry.Parse("d", "host=/var/run/postgresql").Hosts);
    }

    [Fact]
    public void LaterDuplicateKey_Wins()
    {
        Assert.Equal(2, DatabaseEntry.Parse("d", "pool_size=1 pool_size=2").PoolSize);
    }

    [Fact]
    public void NegativeQueryWaitTimeout_MeansUnset()
    {
        Assert.Null(DatabaseEntry.Parse("d", "query_wait_timeout=-1").QueryWaitTimeout);
    }

    [Fact]
    public void UnknownKey_IsRejected()
    {
        var e = Assert.Throws<ConfigException>(() => DatabaseEntry.Parse("d", "host=x sslmode=require"));

        Assert.Equal("unrecognized connection parameter: sslmode", e.Detail);
        Assert.Equal("d", e.Key);
    }

    [Fact]
    public void KeysAreCaseSensitive()
    {
        Assert.Throws<ConfigException>(() => DatabaseEntry.Parse("d", "HOST=x"));
    }

    [Theory]
    [InlineData("port=0")]
    [InlineData("port=70000")]
    [InlineData("port=abc")]
    [InlineData("pool_size=many")]
    [InlineData("pool_mode=sometimes")]
    [InlineData("load_balance_hosts=random")]
    [InlineData("server_lifetime=soon")]
    public void BadValues_AreRejected(string connString)
    {
        var e = Assert.Throws<ConfigException>(() => DatabaseEntry.Parse("d", connString));

        Assert.StartsWith("invalid value", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void PgbouncerName_IsReserved()
    {
        var e = Assert.Throws<ConfigException>(() => DatabaseEntry.Parse("pgbouncer", "host=x"));

        Assert.Equal("database name \"pgbouncer\" is reserved", e.Detail);
    }

    [Fact]
    public void UserEntry_ParsesAllKeys()
    {
        var user = UserEntry.Parse(
            "bob",
            "pool_mode=statement pool_size=3 reserve_pool_size=1 max_user_connections=9 max_user_client_connections=10 " +
            "query_timeout=1 idle_transaction_timeout=2 transaction_timeout=3 client_idle_timeout=4 query_wait_timeout=5");

        Assert.Equal(PoolMode.Statement, user.PoolMode);
        Assert.Equal((3, 1, 9, 10), (user.PoolSize, user.ReservePoolSize, user.MaxUserConnections, user.MaxUserClientConnections));
        Assert.Equal((1.0, 2.0, 3.0, 4.0, 5.0), (user.QueryTimeout, user.IdleTransactionTimeout, user.TransactionTimeout, user.ClientIdleTimeout, user.QueryWaitTimeout));
    }

    [Fact]
    public void UserEntry_UnknownKey_IsRejected()
    {
        var e = Assert.Throws<ConfigException>(() => UserEntry.Parse("bob", "host=x"));

        Assert.Equal("unrecognized user parameter: host", e.Detail);
    }

    [Fact]
    public void PeerEntry_DefaultsPortAndRequiresHost()
    {
        var peer = PeerEntry.Parse("2", "host=10.0.0.2");

        Assert.Equal((2, "10.0.0.2", 6432, (int?)null), (peer.Id, peer.Host, peer.Port, peer.PoolSize));
        Assert.Throws<ConfigException>(() => PeerEntry.Parse("3", "port=1"));
        Assert.Throws<ConfigException>(() => PeerEntry.Parse("0", "host=x"));
        Assert.Throws<ConfigException>(() => PeerEntry.Parse("abc", "host=x"));
    }
}
