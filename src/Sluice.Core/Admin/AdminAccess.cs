using Sluice.Config;

namespace Sluice.Admin;

/// <summary>PgBouncer's console access rules (pgbouncer.md §3.1).</summary>
internal static class AdminAccess
{
    public static AdminAccessLevel Resolve(PoolerConfig config, string user, bool unixSocketSameUser)
    {
        if (unixSocketSameUser || Contains(config.AdminUsers, user))
        {
            return AdminAccessLevel.Admin;
        }
        if (Contains(config.StatsUsers, user) || config.AuthType == AuthType.Any)
        {
            return AdminAccessLevel.Stats;
        }
        return AdminAccessLevel.None;
    }

    private static bool Contains(IReadOnlyList<string> list, string user)
    {
        foreach (var item in list)
        {
            if (item == user)
            {
                return true;
            }
        }
        return false;
    }
}
