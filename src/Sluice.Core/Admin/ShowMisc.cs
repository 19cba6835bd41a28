using Sluice.Config;
using Sluice.Pooling;

namespace Sluice.Admin;

/// <summary>SHOW VERSION, HELP, CONFIG, LISTS, MEM, STATE, DNS_HOSTS, DNS_ZONES, FDS and the fake parameters.</summary>
internal static class ShowMisc
{
    /// <summary>The PgBouncer release whose console Sluice reproduces; tools parse "PgBouncer X.Y.Z" to pick columns.</summary>
    public const string CompatibleVersion = Hosting.Version.CompatibleVersion;

    public static readonly AdminColumn[] VersionColumns = [AdminColumn.Text("version")];

    public static readonly AdminColumn[] ConfigColumns =
    [
        AdminColumn.Text("key"), AdminColumn.Text("value"), AdminColumn.Text("default"), AdminColumn.Text("changeable"),
    ];

    public static readonly AdminColumn[] ListsColumns = [AdminColumn.Text("list"), AdminColumn.Int4("items")];

    public static readonly AdminColumn[] MemColumns =
    [
        AdminColumn.Text("name"), AdminColumn.Int4("size"), AdminColumn.Int4("used"), AdminColumn.Int4("free"), AdminColumn.Int4("memtotal"),
    ];

    public static readonly AdminColumn[] DnsHostsColumns = [AdminColumn.Text("hostname"), AdminColumn.Int8("ttl"), AdminColumn.Text("addrs")];

    public static readonly AdminColumn[] DnsZonesColumns = [AdminColumn.Text("zonename"), AdminColumn.Int8("serial"), AdminColumn.Int4("count")];

    public static readonly AdminColumn[] StateColumns = [AdminColumn.Text("key"), AdminColumn.Text("value")];

    public static readonly AdminColumn[] FdsColumns =
    [
        AdminColumn.Int4("fd"),
        AdminColumn.Text("task"),
        AdminColumn.Text("user"),
        AdminColumn.Text("database"),
        AdminColumn.Text("addr"),
        AdminColumn.Int4("port"),
        AdminColumn.Int8("cancel"),
        AdminColumn.Int4("link"),
        AdminColumn.Text("client_encoding"),
        AdminColumn.Text("std_strings"),
        AdminColumn.Text("datestyle"),
        AdminColumn.Text("timezone"),
        AdminColumn.Text("password"),
        new("scram_client_key", AdminColumnType.Bytea),
        new("scram_server_key", AdminColumnType.Bytea),
    ];

    /// <summary>Parameters drivers ask for, answered with fixed values (pgbouncer.md §3.1), keyed lower-case.</summary>
    public static readonly IReadOnlyDictionary<string, string> FakeParameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["client_encoding"] = "UTF-8",
        ["default_transaction_isolation"] = "read committed",
        ["standard_conforming_strings"] = "on",
        ["datestyle"] = "ISO",
        ["timezone"] = "GMT",
    };

    public const string HelpDetail =
        "\n\tSHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION" +
        "\n\tSHOW PEERS|PEER_POOLS" +
        "\n\tSHOW FDS|SOCKETS|ACTIVE_SOCKETS|LISTS|MEM|STATE" +
        "\n\tSHOW DNS_HOSTS|DNS_ZONES" +
        "\n\tSHOW STATS|STATS_TOTALS|STATS_AVERAGES|TOTALS" +
        "\n\tSET key = arg" +
        "\n\tRELOAD" +
        "\n\tPAUSE [<db>]" +
        "\n\tRESUME [<db>]" +
        "\n\tDISABLE <db>" +
        "\n\tENABLE <db>" +
        "\n\tRECONNECT [<db>]" +
        "\n\tKILL [<db>]" +
        "\n\tKILL_CLIENT <client_id>" +
        "\n\tSUSPEND" +
        "\n\tSHUTDOWN" +
        "\n\tSHUTDOWN WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS" +
        "\n\tWAIT_CLOSE [<db>]";

    public static string VersionText => Hosting.Version.Banner;

    public static ValueTask Version(AdminContext ctx, AdminCommand command)
    {
        var result = ctx.BeginResult(VersionColumns);
        result.Row(VersionText);
        result.Complete();
        return ValueTask.CompletedTask;
    }

    /// <summary>Like PgBouncer: the command list goes out as a NOTICE (message "Console usage", list in the detail), then "SHOW".</summary>
    public static ValueTask Help(AdminContext ctx, AdminCommand command)
    {
        AdminMessages.WriteNotice(ctx.Output, "Console usage", HelpDetail);
        AdminMessages.WriteCommandComplete(ctx.Output, "SHOW");
        return ValueTask.CompletedTask;
    }

    public static ValueTask Config(AdminContext ctx, AdminCommand command)
    {
        var config = ctx.Config;
        var defaults = PoolerConfig.Default;
        var result = ctx.BeginResult(ConfigColumns);
        foreach (var setting in SettingsTable.All)
        {
            result.Row(setting.Name, config.GetRaw(setting.Name), defaults.GetRaw(setting.Name), setting.Reloadable ? "yes" : "no");
        }
        result.Complete();
        return ValueTask.CompletedTask;
    }

    public static ValueTask Lists(AdminContext ctx, AdminCommand command)
    {
        var pooler = ctx.Pooler;
        var config = ctx.Config;
        var consoles = ctx.State.Consoles.Count;
        int clients = 0, loginClients = 0;
        foreach (var client in pooler.Clients)
        {
            if (client.State == ClientState.Closed)
            {
                continue;
            }
            clients++;
            if (client.State == ClientState.Login)
            {
                loginClients++;
            }
        }
        var pools = pooler.Pools.All;
        var servers = pools.Sum(p => p.ServerCount);
        var result = ctx.BeginResult(ListsColumns);
        result.Row("databases", ShowPools.DatabaseNames(ctx).Count);
        result.Row("users", ShowPools.UserNames(ctx).Count);
        result.Row("peers", config.Peers.Count);
        result.Row("pools", pools.Count + 1);   // + the console's pgbouncer/pgbouncer pool
        result.Row("peer_pools", 0);
        result.Row("free_clients", 0);          // no slab allocator: nothing is kept on a free list
        result.Row("used_clients", clients + consoles);
        result.Row("login_clients", loginClients);
        result.Row("free_servers", 0);
        result.Row("used_servers", servers);
        result.Row("dns_names", 0);             // no DNS cache: names are resolved by the OS per connect
        result.Row("dns_zones", 0);
        result.Row("dns_queries", 0);
        result.Row("dns_pending", 0);
        result.Complete();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// PgBouncer's slab caches. Sluice allocates on the .NET heap, so only <c>used</c> carries a value (live
    /// objects of each kind); size, free and memtotal are 0.
    /// </summary>
    public static ValueTask Mem(AdminContext ctx, AdminCommand command)
    {
        var pooler = ctx.Pooler;
        var pools = pooler.Pools.All;
        var clients = pooler.AdmittedClientCount + ctx.State.Consoles.Count;
        var result = ctx.BeginResult(MemColumns);
        (string Name, int Used)[] caches =
        [
            ("user_cache", ShowPools.UserNames(ctx).Count),
            ("credentials_cache", pooler.AuthFile.Count),
            ("db_cache", ShowPools.DatabaseNames(ctx).Count),
            ("peer_cache", ctx.Config.Peers.Count),
            ("peer_pool_cache", 0),
            ("pool_cache", pools.Count + 1),
            ("outstanding_request_cache", 0),
            ("server_cache", pools.Sum(p => p.ServerCount)),
            ("client_cache", clients),
            ("iobuf_cache", 0),
            ("var_list_cache", 0),
            ("server_prepared_statement_cache", 0),
        ];
        foreach (var (name, used) in caches)
        {
            result.Row(name, 0, used, 0, 0);
        }
        result.Complete();
        return ValueTask.CompletedTask;
    }

    /// <summary>Sluice resolves host names through the OS on every connect and keeps no DNS cache: no rows.</summary>
    public static ValueTask DnsHosts(AdminContext ctx, AdminCommand command)
    {
        ctx.BeginResult(DnsHostsColumns).Complete();
        return ValueTask.CompletedTask;
    }

    public static ValueTask DnsZones(AdminContext ctx, AdminCommand command)
    {
        ctx.BeginResult(DnsZonesColumns).Complete();
        return ValueTask.CompletedTask;
    }

    /// <summary>The global mode: paused by PAUSE or SIGUSR1, or suspended by SUSPEND.</summary>
    public static ValueTask State(AdminContext ctx, AdminCommand command)
    {
        var result = ctx.BeginResult(StateColumns);
        var suspended = ctx.Pooler.IsSuspended;
        var paused = ctx.Pooler.IsPaused && !suspended;
        result.Row("active", paused || suspended ? "no" : "yes");
        result.Row("paused", paused ? "yes" : "no");
        result.Row("suspended", suspended ? "yes" : "no");
        result.Complete();
        return ValueTask.CompletedTask;
    }

    /// <summary>The takeover file descriptor list; Sluice has no online restart (-R), so it hands over nothing.</summary>
    public static ValueTask Fds(AdminContext ctx, AdminCommand command)
    {
        ctx.BeginResult(FdsColumns).Complete();
        return ValueTask.CompletedTask;
    }

    public static void FakeParameter(AdminContext ctx, string name, string value)
    {
        var result = ctx.BeginResult([AdminColumn.Text(name.ToLowerInvariant())]);
        result.Row(value);
        result.Complete();
    }
}
