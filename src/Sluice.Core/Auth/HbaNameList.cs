using System.Collections.Frozen;

namespace Sluice.Auth;

/// <summary>
/// The database or user column of an HBA rule: keywords (<c>all</c>; database column only:
/// <c>sameuser</c>, <c>replication</c>) plus a set of literal names collected from the comma list
/// and any <c>@file</c> includes. Names compare ordinally (case-sensitive), as in PgBouncer.
/// </summary>
public sealed class HbaNameList
{
    internal HbaNameList(bool all, bool sameUser, bool replication, IEnumerable<string> names)
    {
        All = all;
        SameUser = sameUser;
        Replication = replication;
        Names = names.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary><c>all</c>: any name (for the database column: any non-replication connection).</summary>
    public bool All { get; }

    /// <summary><c>sameuser</c> (database column): the database name equals the user name.</summary>
    public bool SameUser { get; }

    /// <summary><c>replication</c> (database column): physical replication connections.</summary>
    public bool Replication { get; }

    /// <summary>Literal names (quoted keywords such as <c>"all"</c> land here as plain names).</summary>
    public FrozenSet<string> Names { get; }

    /// <summary>Database column test. Replication connections match only the <c>replication</c> keyword.</summary>
    internal bool MatchesDatabase(string database, string user, bool isReplication)
    {
        if (isReplication)
        {
            return Replication;
        }

        return All
            || (SameUser && string.Equals(database, user, StringComparison.Ordinal))
            || Names.Contains(database);
    }

    /// <summary>User column test.</summary>
    internal bool MatchesUser(string user) => All || Names.Contains(user);

    public override string ToString()
    {
        var parts = new List<string>();
        if (All)
        {
            parts.Add("all");
        }

        if (SameUser)
        {
            parts.Add("sameuser");
        }

        if (Replication)
        {
            parts.Add("replication");
        }

        parts.AddRange(Names.Order(StringComparer.Ordinal).Select(n => "\"" + n.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""));
        return string.Join(',', parts);
    }
}
