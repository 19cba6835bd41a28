namespace Sluice.Config;

/// <summary>auth_dbname in [pgbouncer]: the admin console cannot be the database auth_query runs in.</summary>
public sealed class AuthDbNameSettingTests
{
    [Fact]
    public void GlobalAuthDbName_Pgbouncer_IsRejected_InPgBouncersWords()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText("[pgbouncer]\nauth_dbname = pgbouncer\n", "test.ini"));

        // The operator (and PgBouncer's test suite) looks for this sentence in the log of a failed RELOAD.
        Assert.Equal("cannot use the reserved \"pgbouncer\" database as an auth_dbname", e.Detail);
        Assert.Equal(("test.ini", 2, "auth_dbname"), (e.File, e.Line, e.Key));
    }

    [Fact]
    public void DatabaseLevelAuthDbName_Pgbouncer_IsLoaded_AndRefusedAtLogin()
    {
        // PgBouncer accepts it in [databases] and refuses it per client ("bouncer config error"), so Sluice does too.
        var config = ConfigLoader.LoadText("[pgbouncer]\n[databases]\nshop = host=x auth_dbname=pgbouncer\n", "test.ini");

        Assert.Equal("pgbouncer", config.Databases["shop"].AuthDbName);
    }
}
