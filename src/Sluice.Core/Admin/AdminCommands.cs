using System.Collections.Frozen;
using Sluice.Config;
using Sluice.Diagnostics;
using Sluice.Protocol;

namespace Sluice.Admin;

internal delegate ValueTask AdminHandler(AdminContext ctx, AdminCommand command);

/// <summary>One entry of the dispatch table: who may run it and what answers it.</summary>
internal sealed record AdminCommandInfo(string Name, AdminAccessLevel Access, AdminHandler Handler);

/// <summary>
/// The console's dispatch tables (command name → handler and access level) and the non-SHOW commands.
/// Every command answers with a complete result (or an ERROR); the caller adds ReadyForQuery.
/// </summary>
internal static class AdminCommands
{
    public const string AdminAccessNeeded = "admin access needed";

    /// <summary>SHOW subjects; all need stats access except FDS (it exposes takeover state), as in PgBouncer.</summary>
    public static FrozenDictionary<string, AdminCommandInfo> Shows { get; } = Build(
    [
        Show("HELP", ShowMisc.Help),
        Show("VERSION", ShowMisc.Version),
        Show("CONFIG", ShowMisc.Config),
        Show("DATABASES", ShowPools.Databases),
        Show("POOLS", ShowPools.Pools),
        Show("CLIENTS", ShowConnections.Clients),
        Show("SERVERS", ShowConnections.Servers),
        Show("USERS", ShowPools.Users),
        Show("PEERS", ShowPools.Peers),
        Show("PEER_POOLS", ShowPools.PeerPools),
        Show("STATS", ShowStats.Stats),
        Show("STATS_TOTALS", ShowStats.StatsTotals),
        Show("STATS_AVERAGES", ShowStats.StatsAverages),
        Show("TOTALS", ShowStats.Totals),
        Show("LISTS", ShowMisc.Lists),
        Show("MEM", ShowMisc.Mem),
        Show("DNS_HOSTS", ShowMisc.DnsHosts),
        Show("DNS_ZONES", ShowMisc.DnsZones),
        Show("STATE", ShowMisc.State),
        Show("SOCKETS", ShowConnections.Sockets),
        Show("ACTIVE_SOCKETS", ShowConnections.ActiveSockets),
        new("FDS", AdminAccessLevel.Admin, ShowMisc.Fds),
        Show("PINNED", ShowPinned.Pinned),
    ]);

    /// <summary>Every other command needs admin access.</summary>
    public static FrozenDictionary<string, AdminCommandInfo> Commands { get; } = Build(
    [
        Admin("RELOAD", ReloadAsync),
        Admin("SHUTDOWN", ControlCommands.ShutdownAsync),
        Admin("PAUSE", ControlCommands.PauseAsync),
        Admin("RESUME", ControlCommands.ResumeAsync),
        Admin("SUSPEND", ControlCommands.SuspendAsync),
        Admin("DISABLE", ControlCommands.DisableAsync),
        Admin("ENABLE", ControlCommands.EnableAsync),
        Admin("RECONNECT", ControlCommands.ReconnectAsync),
        Admin("KILL", ControlCommands.KillAsync),
        Admin("KILL_CLIENT", ControlCommands.KillClientAsync),
        Admin("WAIT_CLOSE", ControlCommands.WaitCloseAsync),
    ]);

    /// <summary>Runs one query's text: parse, look up, check access, answer. Errors are written, never thrown.</summary>
    public static async ValueTask ExecuteAsync(AdminContext ctx, string query)
    {
        try
        {
            await DispatchAsync(ctx, query).ConfigureAwait(false);
        }
        catch (AdminException e)
        {
            AdminMessages.WriteError(ctx.Output, e.SqlState, e.Message);
        }
    }

    private static ValueTask DispatchAsync(AdminContext ctx, string query)
    {
        var command = AdminCommandParser.Parse(query) ?? throw InvalidCommand(query);
        if (command.IsSet)
        {
            return SetAsync(ctx, command);
        }
        if (command.Verb == "SHOW")
        {
            if (command.Argument is null)
            {
                throw InvalidCommand(query);
            }
            if (ShowMisc.FakeParameters.TryGetValue(command.Argument, out var fake))
            {
                ShowMisc.FakeParameter(ctx, command.Argument, fake);
                return ValueTask.CompletedTask;
            }
            var show = Shows.GetValueOrDefault(command.Argument.ToUpperInvariant()) ?? throw InvalidCommand(query);
            return Run(ctx, show, command);
        }
        var info = Commands.GetValueOrDefault(command.Verb) ?? throw InvalidCommand(query);
        return Run(ctx, info, command);
    }

    private static ValueTask Run(AdminContext ctx, AdminCommandInfo info, AdminCommand command)
    {
        if (ctx.Access < info.Access)
        {
            throw new AdminException(AdminAccessNeeded);
        }
        return info.Handler(ctx, command);
    }

    public static AdminException InvalidCommand(string query) => new($"invalid command '{query}', use SHOW HELP;");

    /// <summary>RELOAD: re-read the file the pooler was started with, then swap the snapshot in (auth_file too).</summary>
    private static ValueTask ReloadAsync(AdminContext ctx, AdminCommand command)
    {
        RejectArgument(command);
        var pooler = ctx.Pooler;
        var current = pooler.Config;
        var path = current.ConfigFile;
        bool tlsApplied;
        try
        {
            if (string.IsNullOrEmpty(path))
            {
                throw new ConfigException("the configuration was not loaded from a file");
            }
            var fresh = ConfigLoader.LoadFile(path);
            foreach (var name in current.ChangedBootOnlySettings(fresh))
            {
                Log.ConfigWarning(pooler.Logger, $"RELOAD: {name} changed in the file but cannot change without a restart");
            }
            tlsApplied = pooler.Reload(fresh);
        }
        catch (Exception e) when (e is ConfigException or IOException or FormatException or UnauthorizedAccessException or ArgumentException)
        {
            Log.ConfigWarning(pooler.Logger, "RELOAD failed: " + e.Message);
            throw new AdminException("RELOAD failed, see logs for additional details", SqlState.ConfigFileError);
        }
        if (!tlsApplied)
        {
            // The new settings are in force but TLS kept its old setup (logged): PgBouncer answers this with an error too.
            throw new AdminException("RELOAD failed, see logs for additional details", SqlState.ConfigFileError);
        }
        AdminMessages.WriteCommandComplete(ctx.Output, "RELOAD");
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// SET: the fake parameters drivers send are accepted and ignored (NOTICE "SET ignored"); a [pgbouncer] key
    /// is validated against the settings table, but applying it needs a config snapshot built from the running
    /// one, which does not exist yet, so a valid SET is refused honestly.
    /// </summary>
    private static ValueTask SetAsync(AdminContext ctx, AdminCommand command)
    {
        var key = command.SetKey!;
        var value = command.SetValue!;
        if (ShowMisc.FakeParameters.ContainsKey(key) || string.Equals(key, "extra_float_digits", StringComparison.OrdinalIgnoreCase))
        {
            AdminMessages.WriteNotice(ctx.Output, "SET ignored");
            AdminMessages.WriteCommandComplete(ctx.Output, "SET");
            return ValueTask.CompletedTask;
        }
        if (ctx.Access < AdminAccessLevel.Admin)
        {
            throw new AdminException(AdminAccessNeeded);
        }
        var setting = SettingsTable.Find(key.ToLowerInvariant()) ?? throw new AdminException($"SET failed: unknown parameter: {key}");
        if (ValueParser.Validate(setting, value, out var canonical) is { } error)
        {
            throw new AdminException($"SET failed: {setting.Name}: {error}");
        }
        if (!setting.Reloadable)
        {
            throw new AdminException($"SET failed: {setting.Name} cannot be changed while running");
        }
        return ControlCommands.ApplySet(ctx, setting, canonical);
    }

    private static void RejectArgument(AdminCommand command)
    {
        if (command.Argument is not null)
        {
            throw InvalidCommand(command.Text);
        }
    }

    private static AdminCommandInfo Show(string name, AdminHandler handler) => new(name, AdminAccessLevel.Stats, handler);

    private static AdminCommandInfo Admin(string name, AdminHandler handler) => new(name, AdminAccessLevel.Admin, handler);

    /// <summary>Process-control commands that need pooler support Sluice does not have yet: an honest ERROR, never silence.</summary>
    private static AdminCommandInfo NotSupported(string name) =>
        new(name, AdminAccessLevel.Admin, (_, _) => throw new AdminException($"{name} is not supported yet"));

    private static FrozenDictionary<string, AdminCommandInfo> Build(AdminCommandInfo[] entries) =>
        entries.ToFrozenDictionary(e => e.Name, StringComparer.Ordinal);
}
