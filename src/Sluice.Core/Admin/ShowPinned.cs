using Sluice.Pooling;

namespace Sluice.Admin;

/// <summary>
/// SHOW PINNED (Sluice only): the clients that transaction pooling keeps on their server because they hold
/// session state, and why. A separate command, so PgBouncer's SHOW CLIENTS columns stay exactly as they are.
/// </summary>
internal static class ShowPinned
{
    public static readonly AdminColumn[] Columns =
    [
        AdminColumn.Text("type"),
        AdminColumn.Text("user"),
        AdminColumn.Text("database"),
        AdminColumn.Text("ptr"),
        AdminColumn.Text("link"),
        AdminColumn.Text("reason"),
        AdminColumn.Int8("pins"),
        AdminColumn.Numeric("pinned_seconds"),
    ];

    public static ValueTask Pinned(AdminContext ctx, AdminCommand command)
    {
        var result = ctx.BeginResult(Columns);
        foreach (var client in ctx.Pooler.Clients)
        {
            if (!client.IsPinned || client.Pool is not { } pool)
            {
                continue;
            }
            result.Row("C", pool.Key.User, pool.Key.Database, $"0x{client.Id:x}", client.Server is { } server ? $"0x{server.Id:x}" : "",
                client.PinReason, pool.Stats.PinCount, pool.Stats.PinnedTimeUs / 1e6m);
        }
        result.Complete();
        return ValueTask.CompletedTask;
    }
}
