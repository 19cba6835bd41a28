using Sluice.Config;
using Sluice.Diagnostics;
using Sluice.Hosting;

namespace Sluice.Admin;

/// <summary>PAUSE, RESUME, DISABLE, ENABLE, RECONNECT, KILL, KILL_CLIENT, WAIT_CLOSE, SHUTDOWN and SET, over the pooler's controls.</summary>
internal static class ControlCommands
{
    public static async ValueTask PauseAsync(AdminContext ctx, AdminCommand command)
    {
        var database = OptionalDatabase(ctx, command);
        if (database is null ? ctx.Pooler.IsPaused : ctx.Pooler.IsPausedFor(database))
        {
            throw new AdminException(database is null ? "already suspended/paused" : $"database {database} is already paused");
        }
        // Like PgBouncer, PAUSE returns once running transactions finished and the servers are closed.
        await ctx.Pooler.PauseAsync(database).ConfigureAwait(false);
        AdminMessages.WriteCommandComplete(ctx.Output, "PAUSE");
    }

    /// <summary>SUSPEND (no argument): refused while paused, or with a paused database, as in PgBouncer.</summary>
    public static ValueTask SuspendAsync(AdminContext ctx, AdminCommand command)
    {
        if (command.Argument is not null)
        {
            throw AdminCommands.InvalidCommand(command.Text);
        }
        if (ctx.Pooler.IsPaused)
        {
            throw new AdminException("already suspended/paused");
        }
        if (ctx.Pooler.AnyDatabasePaused)
        {
            throw new AdminException("cannot suspend with paused databases");
        }
        Log.AdminCommandIssued(ctx.Pooler.Logger, "SUSPEND");
        ctx.Pooler.Suspend();
        AdminMessages.WriteCommandComplete(ctx.Output, "SUSPEND");
        return ValueTask.CompletedTask;
    }

    public static ValueTask ResumeAsync(AdminContext ctx, AdminCommand command)
    {
        var database = OptionalDatabase(ctx, command);
        if (ctx.Pooler.IsShuttingDown)
        {
            throw new AdminException("pooler is shutting down");
        }
        if (database is null ? !ctx.Pooler.IsPaused && !ctx.Pooler.AnyDatabasePaused : !ctx.Pooler.IsPausedFor(database))
        {
            throw new AdminException(database is null ? "pooler is not paused/suspended" : $"database {database} is not paused");
        }
        ctx.Pooler.Resume(database);
        AdminMessages.WriteCommandComplete(ctx.Output, "RESUME");
        return ValueTask.CompletedTask;
    }

    public static ValueTask DisableAsync(AdminContext ctx, AdminCommand command)
    {
        ctx.Pooler.Disable(RequiredDatabase(ctx, command));
        AdminMessages.WriteCommandComplete(ctx.Output, "DISABLE");
        return ValueTask.CompletedTask;
    }

    public static ValueTask EnableAsync(AdminContext ctx, AdminCommand command)
    {
        ctx.Pooler.Enable(RequiredDatabase(ctx, command));
        AdminMessages.WriteCommandComplete(ctx.Output, "ENABLE");
        return ValueTask.CompletedTask;
    }

    public static ValueTask ReconnectAsync(AdminContext ctx, AdminCommand command)
    {
        ctx.Pooler.Reconnect(OptionalDatabase(ctx, command));
        AdminMessages.WriteCommandComplete(ctx.Output, "RECONNECT");
        return ValueTask.CompletedTask;
    }

    /// <summary>KILL db, or KILL alone (PgBouncer 1.25): every database.</summary>
    public static ValueTask KillAsync(AdminContext ctx, AdminCommand command)
    {
        ctx.Pooler.Kill(OptionalDatabase(ctx, command));
        AdminMessages.WriteCommandComplete(ctx.Output, "KILL");
        return ValueTask.CompletedTask;
    }

    public static ValueTask KillClientAsync(AdminContext ctx, AdminCommand command)
    {
        // The id column of SHOW CLIENTS; like PgBouncer, the leading decimal number counts and text without one is refused.
        if (!TryParseLeadingId(command.Argument, out var id))
        {
            throw new AdminException("invalid client pointer supplied");
        }
        if (!ctx.Pooler.KillClient(id))
        {
            throw new AdminException("client not found");
        }
        AdminMessages.WriteCommandComplete(ctx.Output, "KILL_CLIENT");
        return ValueTask.CompletedTask;
    }

    public static async ValueTask WaitCloseAsync(AdminContext ctx, AdminCommand command)
    {
        await ctx.Pooler.WaitCloseAsync(OptionalDatabase(ctx, command)).ConfigureAwait(false);
        AdminMessages.WriteCommandComplete(ctx.Output, "WAIT_CLOSE");
    }

    /// <summary>SHUTDOWN [WAIT_FOR_SERVERS | WAIT_FOR_CLIENTS]: the console gets no reply, its connection just ends.</summary>
    public static ValueTask ShutdownAsync(AdminContext ctx, AdminCommand command)
    {
        var mode = command.Argument?.ToUpperInvariant() switch
        {
            null => ShutdownMode.Immediate,
            "WAIT_FOR_SERVERS" => ShutdownMode.WaitForServers,
            "WAIT_FOR_CLIENTS" => ShutdownMode.WaitForClients,
            _ => throw AdminCommands.InvalidCommand(command.Text),
        };
        Log.ShuttingDown(ctx.Pooler.Logger, "SHUTDOWN command issued");
        if (mode == ShutdownMode.Immediate)
        {
            ctx.ShutdownRequested = true;
        }
        else
        {
            AdminMessages.WriteCommandComplete(ctx.Output, "SHUTDOWN");
        }
        ctx.Pooler.RequestShutdown(mode);
        return ValueTask.CompletedTask;
    }

    /// <summary>SET key = value: validated against the settings table and applied as a new config snapshot.</summary>
    public static ValueTask ApplySet(AdminContext ctx, SettingDefinition setting, string canonical)
    {
        var pooler = ctx.Pooler;
        var reloadTls = Pooler.AffectsTls(setting.Name);
        if (!pooler.Reload(pooler.Config.WithSetting(setting.Name, canonical), reloadAuthFile: false, reloadTls))
        {
            // As PgBouncer: the value is set, but TLS goes on with the old setup until the settings work together
            // (SET changes one file at a time, so a key may wait for its certificate).
            AdminMessages.WriteNotice(ctx.Output, "TLS settings could not be applied, still using old configuration");
        }
        AdminMessages.WriteCommandComplete(ctx.Output, $"SET {setting.Name}={canonical}");
        return ValueTask.CompletedTask;
    }

    /// <summary>Reads the unsigned decimal number at the start of <paramref name="text"/> (after blanks), ignoring what follows.</summary>
    internal static bool TryParseLeadingId(string? text, out long id)
    {
        id = 0;
        var span = (text ?? "").AsSpan().TrimStart();
        if (span.Length > 0 && span[0] == '+')
        {
            span = span[1..];
        }
        var digits = 0;
        while (digits < span.Length && char.IsAsciiDigit(span[digits]))
        {
            digits++;
        }
        return digits > 0 && long.TryParse(span[..digits], System.Globalization.NumberStyles.None, null, out id);
    }

    private static string? OptionalDatabase(AdminContext ctx, AdminCommand command) =>
        command.Argument is { } name ? CheckDatabase(ctx, name) : null;

    private static string RequiredDatabase(AdminContext ctx, AdminCommand command) =>
        CheckDatabase(ctx, command.Argument ?? throw new AdminException($"{command.Verb} needs a database name"));

    private static string CheckDatabase(AdminContext ctx, string name)
    {
        if (!ctx.Pooler.Config.Databases.ContainsKey(name) && ctx.Pooler.Config.FallbackDatabase is null)
        {
            throw new AdminException($"no such database: {name}");
        }
        return name;
    }
}
