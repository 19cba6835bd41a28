namespace Sluice.Config;

public sealed class ConfigLoaderTests
{
    private static PoolerConfig Load(string text) => ConfigLoader.LoadText(text, "test.ini");

    private static ConfigException LoadFails(string text) =>
        Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(text, "test.ini"));

    [Fact]
    public void Defaults_MatchPgBouncer()
    {
        var c = Load("[pgbouncer]\n");

        Assert.Equal(PoolMode.Session, c.PoolMode);
        Assert.Equal(100, c.MaxClientConn);
        Assert.Equal(20, c.DefaultPoolSize);
        Assert.Equal(6432, c.ListenPort);
        Assert.Equal(AuthType.Md5, c.AuthType);
        Assert.Equal("DISCARD ALL", c.ServerResetQuery);
        Assert.Equal(200, c.MaxPreparedStatements);
        Assert.Equal(TlsMode.Prefer, c.ServerTlsSslMode);
        Assert.Equal(TlsMode.Disable, c.ClientTlsSslMode);
        Assert.Equal(TimeSpan.FromSeconds(120), c.QueryWaitTimeout);
        Assert.Equal(int.MaxValue, c.MaxPacketSize);
        Assert.Equal(TimeSpan.FromHours(1), c.ServerLifetime);
        Assert.Equal(TimeSpan.FromSeconds(5), c.ReservePoolTimeout);
        Assert.Equal(TimeSpan.FromSeconds(60), c.StatsPeriod);
        Assert.Equal(TimeSpan.FromSeconds(5), c.QueryWaitNotify);
        Assert.Equal(TimeSpan.Zero, c.QueryTimeout);
        Assert.Equal(Convert.ToInt32("777", 8), c.UnixSocketMode);
        Assert.Equal("/tmp", c.UnixSocketDir);
        Assert.Empty(c.ListenAddr);
        Assert.Equal(["IntervalStyle"], c.TrackExtraParameters);
        Assert.Null(c.AuthFile);
        Assert.Equal(4096, c.ScramIterations);
        Assert.Equal("<empty>", c.ServerCheckQuery);
        Assert.True(c.LogConnections);
        Assert.True(c.TcpKeepalive);
        Assert.Equal(("", 0), (c.StatsListenAddr, c.StatsListenPort));
        Assert.Empty(c.Databases);
        Assert.Null(c.FallbackDatabase);
    }

    [Fact]
    public void Default_EqualsEmptyMainSection()
    {
        var loaded = Load("[pgbouncer]\n");

        foreach (var setting in SettingsTable.All)
        {
            Assert.Equal(loaded.GetRaw(setting.Name), PoolerConfig.Default.GetRaw(setting.Name));
        }
    }

    [Fact]
    public void TypedValues_AreParsed()
    {
        var c = Load("""
            [pgbouncer]
            listen_addr = 127.0.0.1, ::1
            listen_port = 7432
            unix_socket_mode = 0700
            pool_mode = Transaction
            auth_type = scram-sha-256
            auth_file = /etc/sluice/userlist.txt
            admin_users = alice,bob
            stats_users =
            server_tls_sslmode = verify-full
            query_wait_timeout = 0.25
            server_round_robin = yes
            log_stats = off
            max_packet_size = 0x100000
            """);

        Assert.Equal(["127.0.0.1", "::1"], c.ListenAddr);
        Assert.Equal(7432, c.ListenPort);
        Assert.Equal(Convert.ToInt32("700", 8), c.UnixSocketMode);
        Assert.Equal(PoolMode.Transaction, c.PoolMode);
        Assert.Equal(AuthType.ScramSha256, c.AuthType);
        Assert.Equal("/etc/sluice/userlist.txt", c.AuthFile);
        Assert.Equal(["alice", "bob"], c.AdminUsers);
        Assert.Empty(c.StatsUsers);
        Assert.Equal(TlsMode.VerifyFull, c.ServerTlsSslMode);
        Assert.Equal(TimeSpan.FromMilliseconds(250), c.QueryWaitTimeout);
        Assert.True(c.ServerRoundRobin);
        Assert.False(c.LogStats);
        Assert.Equal(1 << 20, c.MaxPacketSize);
    }

    [Fact]
    public void GetRaw_GivesCanonicalText_AndTracksExplicitKeys()
    {
        var c = Load("[pgbouncer]\npool_mode = TRANSACTION\nserver_round_robin = yes\nunix_socket_mode = 0700\n");

        Assert.Equal("transaction", c.GetRaw("pool_mode"));
        Assert.Equal("1", c.GetRaw("server_round_robin"));
        Assert.Equal("448", c.GetRaw("unix_socket_mode"));
        Assert.Equal("20", c.GetRaw("default_pool_size"));
        Assert.Equal("", c.GetRaw("auth_file"));
        Assert.Equal("0", c.GetRaw("verbose"));
        Assert.True(c.IsExplicitlySet("pool_mode"));
        Assert.False(c.IsExplicitlySet("default_pool_size"));
        Assert.Throws<ArgumentException>(() => c.GetRaw("no_such_key"));
    }

    [Fact]
    public void LaterDuplicateKey_Wins()
    {
        Assert.Equal(300, Load("[pgbouncer]\nmax_client_conn = 200\nmax_client_conn = 300\n").MaxClientConn);
    }

    [Fact]
    public void Databases_AreCaseSensitive_AndFallbackIsSeparate()
    {
        var c = Load("""
            [databases]
            App = host=a
            app = host=b dbname=other
            * = host=fallback port=5433
            "my db" = host=c
            [pgbouncer]
            """);

        Assert.Equal(["a"], c.Databases["App"].Hosts);
        Assert.Equal(["b"], c.Databases["app"].Hosts);
        Assert.Equal("other", c.Databases["app"].DbName);
        Assert.False(c.Databases.ContainsKey("APP"));
        Assert.False(c.Databases.ContainsKey("*"));
        Assert.Equal(["c"], c.Databases["my db"].Hosts);
        Assert.NotNull(c.FallbackDatabase);
        Assert.Equal(["fallback"], c.FallbackDatabase.Hosts);
        Assert.Equal(5433, c.FallbackDatabase.Port);
    }

    [Fact]
    public void ForcedUser_WithQuotedPasswordContainingSpaces()
    {
        var c = Load("[pgbouncer]\n[databases]\nreports = host=db user=reporter password='s3cret with ''quotes'' ; and more'\n");

        var db = c.Databases["reports"];
        Assert.Equal("reporter", db.User);
        Assert.Equal("s3cret with 'quotes' ; and more", db.Password);
    }

    [Fact]
    public void EmptyConnString_IsAllowed()
    {
        var db = Load("[pgbouncer]\n[databases]\nfoodb =\n").Databases["foodb"];

        Assert.Empty(db.Hosts);
        Assert.Null(db.DbName);
    }

    [Fact]
    public void UsersAndPeers_AreLoaded()
    {
        var c = Load("[pgbouncer]\n[users]\nbob = pool_mode=statement\n[peers]\n1 = host=/tmp port=6433\n2 = host=10.0.0.2\n");

        Assert.Equal(PoolMode.Statement, c.Users["bob"].PoolMode);
        Assert.False(c.Users.ContainsKey("Bob"));
        Assert.Equal(("/tmp", 6433), (c.Peers[1].Host, c.Peers[1].Port));
        Assert.Equal(6432, c.Peers[2].Port);
    }

    [Fact]
    public void PoolModeAndSize_PreferUserThenDatabaseThenGlobal()
    {
        var c = Load("""
            [pgbouncer]
            pool_mode = session
            default_pool_size = 10
            [databases]
            plain = host=x
            tuned = host=x pool_mode=transaction pool_size=30
            [users]
            bob = pool_mode=statement pool_size=5
            carol = max_user_connections=1
            """);
        var plain = c.Databases["plain"];
        var tuned = c.Databases["tuned"];
        var bob = c.Users["bob"];
        var carol = c.Users["carol"];

        Assert.Equal(PoolMode.Session, c.ResolvePoolMode(plain, null));
        Assert.Equal(PoolMode.Session, c.ResolvePoolMode(plain, carol));
        Assert.Equal(PoolMode.Transaction, c.ResolvePoolMode(tuned, carol));
        Assert.Equal(PoolMode.Statement, c.ResolvePoolMode(tuned, bob));
        Assert.Equal(PoolMode.Statement, c.ResolvePoolMode(null, bob));
        Assert.Equal(10, c.ResolvePoolSize(plain, null));
        Assert.Equal(30, c.ResolvePoolSize(tuned, carol));
        Assert.Equal(5, c.ResolvePoolSize(tuned, bob));
        Assert.Equal(5, c.ResolvePoolSize(plain, bob));
    }

    [Fact]
    public void QueryWaitTimeout_PrefersUserThenDatabase()
    {
        var c = Load("[pgbouncer]\n[databases]\nd = query_wait_timeout=30\n[users]\nu = query_wait_timeout=0\n");

        Assert.Equal(TimeSpan.FromSeconds(120), c.ResolveQueryWaitTimeout(null, null));
        Assert.Equal(TimeSpan.FromSeconds(30), c.ResolveQueryWaitTimeout(c.Databases["d"], null));
        Assert.Equal(TimeSpan.Zero, c.ResolveQueryWaitTimeout(c.Databases["d"], c.Users["u"]));
    }

    [Fact]
    public void UnknownParameter_NamesFileLineAndKey()
    {
        var e = LoadFails("[pgbouncer]\nlisten_port = 6432\nlisten_prot = 1\n");

        Assert.Equal(("test.ini", 3, "listen_prot"), (e.File, e.Line, e.Key));
        Assert.Equal("test.ini:3: listen_prot: unknown parameter", e.Message);
    }

    [Fact]
    public void Keys_AreCaseSensitive()
    {
        Assert.Equal("Listen_Port", LoadFails("[pgbouncer]\nListen_Port = 1\n").Key);
    }

    [Theory]
    [InlineData("max_client_conn", "lots")]
    [InlineData("max_client_conn", "10x")]
    [InlineData("listen_port", "99999999999")]
    [InlineData("pool_mode", "sometimes")]
    [InlineData("auth_type", "kerberos")]
    [InlineData("server_tls_sslmode", "maybe")]
    [InlineData("client_tls_sslmode", "verify")]
    [InlineData("log_stats", "perhaps")]
    [InlineData("query_wait_timeout", "-1")]
    [InlineData("server_lifetime", "1h")]
    [InlineData("unix_socket_mode", "0789")]
    public void BadValue_NamesFileLineKeyAndValue(string key, string value)
    {
        var e = LoadFails($"[pgbouncer]\n\n{key} = {value}\n");

        Assert.Equal(("test.ini", 3, key), (e.File, e.Line, e.Key));
        Assert.StartsWith($"test.ini:3: {key}: invalid", e.Message, StringComparison.Ordinal);
        Assert.Contains($"\"{value}\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadDatabaseLine_NamesFileLineAndDatabase()
    {
        var e = LoadFails("[pgbouncer]\n[databases]\nok = host=x\nbroken = host=x sslmode=require\n");

        Assert.Equal("test.ini:4: broken: unrecognized connection parameter: sslmode", e.Message);
    }

    [Fact]
    public void BadUserLine_NamesFileLineAndUser()
    {
        var e = LoadFails("[pgbouncer]\n[users]\nbob = pool_size=big\n");

        Assert.Equal(("test.ini", 3, "bob"), (e.File, e.Line, e.Key));
    }

    [Fact]
    public void PgbouncerDatabase_IsReserved()
    {
        var e = LoadFails("[pgbouncer]\n[databases]\npgbouncer = host=x\n");

        Assert.Equal("test.ini:3: pgbouncer: database name \"pgbouncer\" is reserved", e.Message);
    }

    [Fact]
    public void UnquotedStarInsideName_IsRejected()
    {
        Assert.Equal(3, LoadFails("[pgbouncer]\n[databases]\nfoo*bar = host=x\n").Line);
    }

    [Fact]
    public void MissingMainSection_IsFatal()
    {
        var e = LoadFails("[databases]\nfoo = host=x\n");

        Assert.Equal("test.ini: main section missing from config file", e.Message);
    }

    [Fact]
    public void UnknownSection_IsFatal()
    {
        var e = LoadFails("[pgbouncer]\n[pgbouncer_extra]\n");

        Assert.Equal(2, e.Line);
        Assert.Contains("unknown section", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SettingBeforeAnySection_IsFatal()
    {
        Assert.Equal(1, LoadFails("listen_port = 1\n[pgbouncer]\n").Line);
    }

    [Fact]
    public void Include_ErrorNamesIncludedFileAndItsLine()
    {
        using var dir = new TempConfigDir();
        var inner = dir.Write("inner.ini", "; comment\nmax_client_conn = 10\nbogus_key = 1\n");

        var e = LoadFails($"[pgbouncer]\n%include {inner}\n");

        Assert.Equal((inner, 3, "bogus_key"), (e.File, e.Line, e.Key));
        Assert.StartsWith($"{inner}:3: bogus_key:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Include_ContributesSectionsAndSettings()
    {
        using var dir = new TempConfigDir();
        var dbs = dir.Write("dbs.ini", "[databases]\nshop = host=db1\n");
        var main = dir.Write("pgbouncer.ini", $"[pgbouncer]\nmax_client_conn = 500\n%include {dbs}\n[pgbouncer]\nlisten_port = 7000\n");

        var c = ConfigLoader.LoadFile(main);

        Assert.Equal(main, c.ConfigFile);
        Assert.Equal(main, c.GetRaw("conffile"));
        Assert.Equal((500, 7000), (c.MaxClientConn, c.ListenPort));
        Assert.Equal(["db1"], c.Databases["shop"].Hosts);
    }

    [Fact]
    public void LoadFile_Missing_Throws()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile("/nonexistent/pgbouncer.ini"));

        Assert.Equal("/nonexistent/pgbouncer.ini", e.File);
    }

    [Fact]
    public void ChangedBootOnlySettings_ListsOnlyNonReloadableChanges()
    {
        var before = Load("[pgbouncer]\nlisten_port = 6432\nmax_client_conn = 10\n");
        var after = Load("[pgbouncer]\nlisten_port = 7000\nmax_client_conn = 20\n");

        Assert.Equal(["listen_port"], before.ChangedBootOnlySettings(after));
    }
}
