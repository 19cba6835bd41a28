using System.Globalization;
using Sluice.Config;
using Sluice.Pooling;

namespace Sluice.Admin;

/// <summary>SHOW POOLS, DATABASES, USERS, PEERS and PEER_POOLS (PgBouncer 1.25 columns, pgbouncer.md §3.3).</summary>
internal static class ShowPools
{
    public const string AdminDatabase = DatabaseEntry.AdminDatabaseName;
    public const string AdminUser = "pgbouncer";

    /// <summary>PgBouncer's console pool has pool_size 2 in statement mode.</summary>
    private const int AdminPoolSize = 2;

    public static readonly AdminColumn[] PoolsColumns =
    [
        AdminColumn.Text("database"),
        AdminColumn.Text("user"),
        AdminColumn.Int4("cl_active"),
        AdminColumn.Int4("cl_waiting"),
        AdminColumn.Int4("cl_active_cancel_req"),
        AdminColumn.Int4("cl_waiting_cancel_req"),
        AdminColumn.Int4("sv_active"),
        AdminColumn.Int4("sv_active_cancel"),
        AdminColumn.Int4("sv_being_canceled"),
        AdminColumn.Int4("sv_idle"),
        AdminColumn.Int4("sv_used"),
        AdminColumn.Int4("sv_tested"),
        AdminColumn.Int4("sv_login"),
        AdminColumn.Int4("maxwait"),
        AdminColumn.Int4("maxwait_us"),
        AdminColumn.Text("pool_mode"),
        AdminColumn.Text("load_balance_hosts"),
    ];

    public static readonly AdminColumn[] DatabasesColumns =
    [
        AdminColumn.Text("name"),
        AdminColumn.Text("host"),
        AdminColumn.Int4("port"),
        AdminColumn.Text("database"),
        AdminColumn.Text("force_user"),
        AdminColumn.Int4("pool_size"),
        AdminColumn.Int4("min_pool_size"),
        AdminColumn.Int4("reserve_pool_size"),
        AdminColumn.Int4("server_lifetime"),
        AdminColumn.Text("pool_mode"),
        AdminColumn.Text("load_balance_hosts"),
        AdminColumn.Int4("max_connections"),
        AdminColumn.Int4("current_connections"),
        AdminColumn.Int4("max_client_connections"),
        AdminColumn.Int4("current_client_connections"),
        AdminColumn.Int4("paused"),
        AdminColumn.Int4("disabled"),
    ];

    public static readonly AdminColumn[] UsersColumns =
    [
        AdminColumn.Text("name"),
        AdminColumn.Text("pool_size"),
        AdminColumn.Text("reserve_pool_size"),
        AdminColumn.Text("pool_mode"),
        AdminColumn.Int4("max_user_connections"),
        AdminColumn.Int4("current_connections"),
        AdminColumn.Int4("max_user_client_connections"),
        AdminColumn.Int4("current_client_connections"),
    ];

    public static readonly AdminColumn[] PeersColumns =
    [
        AdminColumn.Int4("peer_id"),
        AdminColumn.Text("host"),
        AdminColumn.Int4("port"),
        AdminColumn.Int4("pool_size"),
    ];

    public static readonly AdminColumn[] PeerPoolsColumns =
    [
        AdminColumn.Int4("peer_id"),
        AdminColumn.Int4("cl_active_cancel_req"),
        AdminColumn.Int4("cl_waiting_cancel_req"),
        AdminColumn.Int4("sv_active_cancel"),
        AdminColumn.Int4("sv_login"),
    ];

    /// <summary>Server counts of one pool by SHOW POOLS state, from one snapshot of its servers.</summary>
    internal readonly record struct ServerCounts(int Active, int Idle, int Used, int Tested, int Login)
    {
        public static ServerCounts Of(Pool pool)
        {
            int active = 0, tested = 0;
            foreach (var server in pool.SnapshotServers())
            {
                switch (server.State)
                {
                    case ServerState.Active:
                        active++;
                        break;
                    case ServerState.Internal:
                        tested++;
                        break;
                }
            }
            // Idle comes from the idle list itself; Sluice never parks servers in a "used" (needs check) state.
            return new ServerCounts(active, pool.IdleCount, 0, tested, pool.ConnectingCount);
        }
    }

    public static ValueTask Pools(AdminContext ctx, AdminCommand command)
    {
        var result = ctx.BeginResult(PoolsColumns);
        var rows = new List<(string Database, string User, object?[] Values)>();
        var time = ctx.Pooler.Time;
        foreach (var pool in ctx.SortedPools())
        {
            var waiters = pool.SnapshotWaiters();
            var waiting = waiters.Length;
            // PgBouncer counts every logged-in client that is not waiting as cl_active, linked or not.
            var active = Math.Max(0, pool.ClientCount - waiting);
            var servers = ServerCounts.Of(pool);
            long maxWaitUs = 0;
            if (waiters.Length > 0 && waiters[0].WaitStartTimestamp != 0)
            {
                maxWaitUs = Math.Max(0, time.GetElapsedTime(waiters[0].WaitStartTimestamp).Ticks / TimeSpan.TicksPerMicrosecond);
            }
            rows.Add((pool.Key.Database, pool.Key.User,
            [
                pool.Key.Database, pool.Key.User, active, waiting, 0, 0,
                servers.Active, 0, 0, servers.Idle, servers.Used, servers.Tested, servers.Login,
                (int)Math.Min(int.MaxValue, maxWaitUs / 1_000_000), (int)(maxWaitUs % 1_000_000),
                PoolModeName(pool.Settings.Mode), LoadBalanceHosts(pool.Database),
            ]));
        }
        var consoles = ctx.State.Consoles.Count;
        rows.Add((AdminDatabase, AdminUser,
        [
            AdminDatabase, AdminUser, consoles, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, PoolModeName(PoolMode.Statement), null,
        ]));
        rows.Sort(static (a, b) =>
        {
            var c = string.CompareOrdinal(a.Database, b.Database);
            return c != 0 ? c : string.CompareOrdinal(a.User, b.User);
        });
        foreach (var row in rows)
        {
            result.Row(row.Values);
        }
        result.Complete();
        return ValueTask.CompletedTask;
    }

    public static ValueTask Databases(AdminContext ctx, AdminCommand command)
    {
        var config = ctx.Config;
        var pools = ctx.Pooler.Pools.All.ToList();
        var result = ctx.BeginResult(DatabasesColumns);
        foreach (var name in DatabaseNames(ctx))
        {
            if (name == AdminDatabase && !config.Databases.ContainsKey(name))
            {
                result.Row(AdminDatabase, null, config.ListenPort, AdminDatabase, AdminUser, AdminPoolSize, 0, 0, 0,
                    PoolModeName(PoolMode.Statement), null, 0, 0, config.MaxDbClientConnections, ctx.Pooler.DatabaseClientCount(AdminDatabase), 0, 0);
                continue;
            }
            var entry = FindEntry(ctx, name, pools);
            if (entry is null)
            {
                continue;
            }
            var servers = 0;
            foreach (var pool in pools)
            {
                if (pool.Key.Database == name)
                {
                    servers += pool.ServerCount;
                }
            }
            var clients = ctx.Pooler.DatabaseClientCount(name);
            var lifetime = entry.ServerLifetime ?? config.ServerLifetime.TotalSeconds;
            result.Row(
                name,
                entry.Hosts.Count == 0 ? null : string.Join(",", entry.Hosts),
                entry.Port,
                entry.DbName ?? name,
                entry.User,
                entry.PoolSize ?? config.DefaultPoolSize,
                config.ResolveMinPoolSize(entry),
                entry.ReservePoolSize ?? config.ReservePoolSize,
                (int)Math.Min(int.MaxValue, lifetime),
                entry.PoolMode is { } mode ? PoolModeName(mode) : null,
                LoadBalanceHosts(entry),
                entry.MaxDbConnections ?? config.MaxDbConnections,
                servers,
                entry.MaxDbClientConnections ?? config.MaxDbClientConnections,
                clients,
                ctx.Pooler.IsPausedFor(name) ? 1 : 0,
                ctx.Pooler.IsDisabled(name) ? 1 : 0);
        }
        result.Complete();
        return ValueTask.CompletedTask;
    }

    public static ValueTask Users(AdminContext ctx, AdminCommand command)
    {
        var config = ctx.Config;
        var pools = ctx.Pooler.Pools.All.ToList();
        var names = UserNames(ctx);
        var result = ctx.BeginResult(UsersColumns);
        foreach (var name in names)
        {
            config.Users.TryGetValue(name, out var user);
            var servers = 0;
            foreach (var pool in pools)
            {
                if (pool.Key.User == name)
                {
                    servers += pool.ServerCount;
                }
            }
            // Clients by login user, whatever user their servers log in as (PgBouncer's global user count).
            var clients = ctx.Pooler.UserClientCount(name);
            result.Row(
                name,
                user?.PoolSize is { } size ? size.ToString(CultureInfo.InvariantCulture).PadLeft(9) : "",
                user?.ReservePoolSize is { } reserve ? reserve.ToString(CultureInfo.InvariantCulture).PadLeft(9) : "",
                user?.PoolMode is { } mode ? PoolModeName(mode) : null,
                user?.MaxUserConnections ?? config.MaxUserConnections,
                servers,
                user?.MaxUserClientConnections ?? config.MaxUserClientConnections,
                clients);
        }
        result.Complete();
        return ValueTask.CompletedTask;
    }

    public static ValueTask Peers(AdminContext ctx, AdminCommand command)
    {
        var config = ctx.Config;
        var result = ctx.BeginResult(PeersColumns);
        foreach (var peer in config.Peers.Values.OrderBy(p => p.Id))
        {
            result.Row(peer.Id, peer.Host, peer.Port, peer.PoolSize ?? config.DefaultPoolSize);
        }
        result.Complete();
        return ValueTask.CompletedTask;
    }

    /// <summary>Peer pools exist only while cancel requests are forwarded to a peer; Sluice keeps no such pools.</summary>
    public static ValueTask PeerPools(AdminContext ctx, AdminCommand command)
    {
        ctx.BeginResult(PeerPoolsColumns).Complete();
        return ValueTask.CompletedTask;
    }

    /// <summary>Configured databases, databases made from the "*" entry that have pools, and the console's own, sorted.</summary>
    public static List<string> DatabaseNames(AdminContext ctx)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal) { AdminDatabase };
        foreach (var name in ctx.Config.Databases.Keys)
        {
            names.Add(name);
        }
        foreach (var pool in ctx.Pooler.Pools.All)
        {
            names.Add(pool.Key.Database);
        }
        return [.. names];
    }

    /// <summary>auth_file users, [users] entries, users with pools (auth_query, forced users) and "pgbouncer", sorted.</summary>
    public static SortedSet<string> UserNames(AdminContext ctx)
    {
        var config = ctx.Config;
        var names = new SortedSet<string>(StringComparer.Ordinal) { AdminUser };
        foreach (var name in AuthFileUserNames(config.AuthFile))
        {
            names.Add(name);
        }
        foreach (var name in config.Users.Keys)
        {
            names.Add(name);
        }
        foreach (var pool in ctx.Pooler.Pools.All)
        {
            names.Add(pool.Key.User);
        }
        return names;
    }

    public static string PoolModeName(PoolMode mode) => mode switch
    {
        PoolMode.Transaction => "transaction",
        PoolMode.Statement => "statement",
        _ => "session",
    };

    /// <summary>NULL unless the database lists several hosts; then its setting, round-robin by default.</summary>
    private static string? LoadBalanceHosts(DatabaseEntry entry) =>
        entry.Hosts.Count > 1 ? entry.LoadBalanceHosts ?? "round-robin" : null;

    private static DatabaseEntry? FindEntry(AdminContext ctx, string name, List<Pool> pools)
    {
        if (ctx.Config.Databases.TryGetValue(name, out var entry))
        {
            return entry;
        }
        foreach (var pool in pools)
        {
            if (pool.Key.Database == name)
            {
                return pool.Database;
            }
        }
        return null;
    }

    /// <summary>
    /// The user names of auth_file (the first quoted field of each line). AuthFile does not expose its names,
    /// so the file is read again here; a missing or unreadable file lists nobody.
    /// </summary>
    internal static IEnumerable<string> AuthFileUserNames(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return [];
        }
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
        var names = new List<string>();
        foreach (var raw in lines)
        {
            var line = raw.TrimStart();
            if (line.Length < 2 || line[0] != '"')
            {
                continue;
            }
            var sb = new System.Text.StringBuilder();
            var i = 1;
            while (i < line.Length)
            {
                if (line[i] == '"')
                {
                    if (i + 1 < line.Length && line[i + 1] == '"')
                    {
                        sb.Append('"');
                        i += 2;
                        continue;
                    }
                    names.Add(sb.ToString());
                    break;
                }
                sb.Append(line[i++]);
            }
        }
        return names;
    }
}
