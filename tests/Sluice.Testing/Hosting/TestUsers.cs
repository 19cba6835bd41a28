namespace Sluice.Testing.Hosting;

/// <summary>The users the test poolers' auth_files know, with their plain passwords.</summary>
public static class TestUsers
{
    public const string Admin = "admin";
    public const string AdminPassword = "adminpass";
    public const string Stats = "stats";
    public const string StatsPassword = "statspass";

    /// <summary>A user in neither admin_users nor stats_users.</summary>
    public const string Other = "nobody";
    public const string OtherPassword = "nobodypass";

    /// <summary>The fixture's login roles: the default auth_file in front of real PostgreSQL.</summary>
    public static readonly IReadOnlyList<(string User, string Secret)> Fixture =
    [
        (PostgresInstance.ScramUser, PostgresInstance.ScramPassword),
        (PostgresInstance.Md5User, PostgresInstance.Md5Password),
        (PostgresInstance.AppUser, PostgresInstance.AppPassword),
    ];

    /// <summary>For console tests: an admin, a stats user, a user in neither list, and the fixture's app role.</summary>
    public static readonly IReadOnlyList<(string User, string Secret)> Console =
    [
        (Admin, AdminPassword),
        (Stats, StatsPassword),
        (Other, OtherPassword),
        (PostgresInstance.AppUser, PostgresInstance.AppPassword),
    ];

    /// <summary>For operations tests: the console admin and the fixture's app role.</summary>
    public static readonly IReadOnlyList<(string User, string Secret)> Operations =
    [
        (Admin, AdminPassword),
        (PostgresInstance.AppUser, PostgresInstance.AppPassword),
    ];

    /// <summary>In front of the fake backend (trust auth): the app user, whose secret nobody checks.</summary>
    public static readonly IReadOnlyList<(string User, string Secret)> Fake =
    [
        (PostgresInstance.AppUser, "unused"),
    ];
}
