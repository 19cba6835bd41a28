using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Auth;
using Sluice.Config;
using Sluice.Hosting;
using Sluice.Testing;

namespace Sluice.Tests.Hosting;

/// <summary>
/// A reload publishes the settings with the auth_file, auth_hba_file and auth_ident_file loaded for them in one
/// snapshot: whoever took the snapshot before keeps the old set whole, whoever takes it after gets the new set whole.
/// </summary>
public sealed class PoolerReloadTests : IDisposable
{
    private readonly TempDirectory _dir = TempDirectory.Create("sluice-reload-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Reload_ReplacesSettingsAndFilesTogether_AndAnEarlierSnapshotKeepsTheOldOnes()
    {
        var first = Generation("a", maxClientConn: 100, user: "alice", hbaMethod: "md5");
        using var pooler = new PoolerScope(first);
        pooler.Value.Reload(first);
        var before = pooler.Value.Snapshot;

        // The second generation rewrites the same files: the first snapshot holds what was parsed, not the paths.
        var second = Generation("a", maxClientConn: 200, user: "bob", hbaMethod: "reject");
        pooler.Value.Reload(second);
        var after = pooler.Value.Snapshot;

        AssertIsGeneration(before, first, "alice", HbaMethod.Md5);
        AssertIsGeneration(after, second, "bob", HbaMethod.Reject);
        Assert.Same(second, pooler.Value.Config);
        Assert.Same(after.AuthFile, pooler.Value.AuthFile);
    }

    [Fact]
    public async Task Reload_NeverShowsAReaderSettingsOfOneGenerationWithFilesOfAnother()
    {
        var a = Generation("a", maxClientConn: 100, user: "alice", hbaMethod: "md5");
        var b = Generation("b", maxClientConn: 200, user: "bob", hbaMethod: "reject");
        using var pooler = new PoolerScope(a);
        pooler.Value.Reload(a);
        using var stop = new CancellationTokenSource();
        var mixed = 0;
        var reads = 0;
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var snapshot = pooler.Value.Snapshot;
                var (user, method) = snapshot.Config.MaxClientConn == 100 ? ("alice", HbaMethod.Md5) : ("bob", HbaMethod.Reject);
                if (!snapshot.AuthFile.TryGet(user, out _) || MethodFor(snapshot.Hba, user) != method || !snapshot.Ident.Allows("m", "root", user))
                {
                    Interlocked.Increment(ref mixed);
                }
                Interlocked.Increment(ref reads);
            }
        });

        for (var i = 0; i < 200; i++)
        {
            pooler.Value.Reload(i % 2 == 0 ? b : a);
        }
        await stop.CancelAsync();
        await reader;

        Assert.True(reads > 0);
        Assert.Equal(0, mixed);
    }

    [Fact]
    public void Reload_WithAnUnreadableFile_LeavesTheWholeSnapshotInPlace()
    {
        var first = Generation("a", maxClientConn: 100, user: "alice", hbaMethod: "md5");
        using var pooler = new PoolerScope(first);
        pooler.Value.Reload(first);
        var before = pooler.Value.Snapshot;
        var broken = ConfigLoader.LoadText(Ini(maxClientConn: 300, authFile: _dir.File("users-a.txt"), hbaFile: _dir.File("missing.conf"), identFile: _dir.File("ident-a.conf")));

        Assert.ThrowsAny<IOException>(() => pooler.Value.Reload(broken));

        Assert.Same(before, pooler.Value.Snapshot);
        Assert.Same(first, pooler.Value.Config);
    }

    [Fact]
    public void Set_ReplacesTheSettings_AndKeepsTheFilesAndTlsInUse()
    {
        var first = Generation("a", maxClientConn: 100, user: "alice", hbaMethod: "md5");
        using var pooler = new PoolerScope(first);
        pooler.Value.Reload(first);
        var before = pooler.Value.Snapshot;
        Generation("a", maxClientConn: 100, user: "bob", hbaMethod: "reject");   // on disk only: SET does not read files

        var changed = first.WithSetting("max_client_conn", "150");
        Assert.True(pooler.Value.Reload(changed, reloadAuthFile: false, reloadTls: false));

        var after = pooler.Value.Snapshot;
        Assert.Same(changed, after.Config);
        Assert.Same(before.AuthFile, after.AuthFile);
        Assert.Same(before.Hba, after.Hba);
        Assert.Same(before.Ident, after.Ident);
        Assert.Same(before.Tls, after.Tls);
    }

    [Fact]
    public void Reload_WithUnusableTlsFiles_PublishesTheRest_WithTheTlsSetupInUse()
    {
        var first = Generation("a", maxClientConn: 100, user: "alice", hbaMethod: "md5");
        using var pooler = new PoolerScope(first);
        pooler.Value.Reload(first);
        var tlsInUse = pooler.Value.Snapshot.Tls;
        Assert.NotNull(tlsInUse);

        // prefer without a certificate cannot be served.
        Generation("a", maxClientConn: 100, user: "bob", hbaMethod: "reject");
        var noCertificate = ConfigLoader.LoadText(Ini(200, _dir.File("users-a.txt"), _dir.File("hba-a.conf"), _dir.File("ident-a.conf")) + "client_tls_sslmode = prefer\n");
        Assert.False(pooler.Value.Reload(noCertificate));

        var after = pooler.Value.Snapshot;
        AssertIsGeneration(after, noCertificate, "bob", HbaMethod.Reject);
        Assert.Same(tlsInUse, after.Tls);
    }

    [Fact]
    public void PoolMadeFromAReplacedSnapshot_TakesTheCurrentEntryAndSettings()
    {
        var old = ConfigLoader.LoadText(PoolIni(port: 1, poolSize: 5));
        using var pooler = new PoolerScope(old);
        pooler.Value.Reload(ConfigLoader.LoadText(PoolIni(port: 2, poolSize: 7)));

        // A login that took its snapshot before the reload makes the pool only now.
        var pool = pooler.Value.Pools.GetOrCreate(old, old.Databases["db"], "app", null);

        Assert.Contains("port=2", pool.Database.ConnectionString, StringComparison.Ordinal);
        Assert.Equal(7, pool.Settings.PoolSize);
    }

    [Fact]
    public void PoolMadeFromTheCurrentSnapshot_KeepsItsEntryAndSettings()
    {
        var config = ConfigLoader.LoadText(PoolIni(port: 1, poolSize: 5));
        using var pooler = new PoolerScope(config);

        var pool = pooler.Value.Pools.GetOrCreate(config, config.Databases["db"], "app", null);

        Assert.Same(config.Databases["db"], pool.Database);
        Assert.Equal(5, pool.Settings.PoolSize);
    }

    private static string PoolIni(int port, int poolSize) => $"""
        [databases]
        db = host=127.0.0.1 port={port} dbname=db

        [pgbouncer]
        auth_type = trust
        default_pool_size = {poolSize}
        """;

    /// <summary>Writes one generation's files (suffix names them) and returns the settings that load them.</summary>
    private PoolerConfig Generation(string suffix, int maxClientConn, string user, string hbaMethod)
    {
        var authFile = _dir.WriteUserList($"users-{suffix}.txt", (user, "secret"));
        var hbaFile = _dir.WriteFile($"hba-{suffix}.conf", $"host all {user} 0.0.0.0/0 {hbaMethod}\n");
        var identFile = _dir.WriteFile($"ident-{suffix}.conf", $"m root {user}\n");
        return ConfigLoader.LoadText(Ini(maxClientConn, authFile, hbaFile, identFile));
    }

    private static string Ini(int maxClientConn, string authFile, string hbaFile, string identFile) => $"""
        [databases]
        db = host=127.0.0.1 port=1 dbname=db

        [pgbouncer]
        auth_type = hba
        auth_file = {authFile}
        auth_hba_file = {hbaFile}
        auth_ident_file = {identFile}
        max_client_conn = {maxClientConn}

        """;

    private static void AssertIsGeneration(ConfigSnapshot snapshot, PoolerConfig config, string user, HbaMethod method)
    {
        Assert.Same(config, snapshot.Config);
        Assert.True(snapshot.AuthFile.TryGet(user, out _));
        Assert.Equal(1, snapshot.AuthFile.Count);
        Assert.Equal(method, MethodFor(snapshot.Hba, user));
        Assert.True(snapshot.Ident.Allows("m", "root", user));
    }

    private static HbaMethod? MethodFor(HbaFile hba, string user) =>
        hba.Match(isUnixSocket: false, isTls: false, "db", user, IPAddress.Loopback)?.Method;

    /// <summary>A pooler that is never started: reloads load files, no socket is opened.</summary>
    private sealed class PoolerScope(PoolerConfig config) : IDisposable
    {
        public Pooler Value { get; } = new(config, NullLoggerFactory.Instance);

        public void Dispose() => Value.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
