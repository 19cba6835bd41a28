namespace Sluice.Admin;

/// <summary>What a console user may do: admin_users everything, stats_users the SHOW commands.</summary>
internal enum AdminAccessLevel
{
    None,
    Stats,
    Admin,
}
