namespace Sluice.Pooling;

/// <summary>
/// The <c>replication</c> startup parameter: <c>database</c> asks for a logical walsender, a true boolean for a
/// physical one. Such a client gets a server of its own, opened with the same parameter.
/// </summary>
internal enum ReplicationMode
{
    None,
    Logical,
    Physical,
}

internal static class ReplicationModes
{
    /// <summary>
    /// Reads the parameter as PostgreSQL does: <c>database</c>, or a boolean (true/false, yes/no, on/off, 1/0 and
    /// their unambiguous prefixes, any case). A value that is neither leaves the connection an ordinary one, as in PgBouncer.
    /// </summary>
    public static ReplicationMode Parse(string? value)
    {
        if (value is null)
        {
            return ReplicationMode.None;
        }
        if (value == "database")
        {
            return ReplicationMode.Logical;
        }
        return TryParseBool(value, out var on) && on ? ReplicationMode.Physical : ReplicationMode.None;
    }

    /// <summary>PostgreSQL's parse_bool: a non-empty prefix of true/false/yes/no, "on"/"off" (at least "of"), 1, 0.</summary>
    public static bool TryParseBool(string value, out bool result)
    {
        var text = value.Trim().ToLowerInvariant();
        result = false;
        if (text.Length == 0)
        {
            return false;
        }
        switch (text)
        {
            case "1":
            case "on":
                result = true;
                return true;
            case "0":
            case "of":
            case "off":
                return true;
        }
        if ("true".StartsWith(text, StringComparison.Ordinal) || "yes".StartsWith(text, StringComparison.Ordinal))
        {
            result = true;
            return true;
        }
        return "false".StartsWith(text, StringComparison.Ordinal) || "no".StartsWith(text, StringComparison.Ordinal);
    }

    /// <summary>The value sent to PostgreSQL and printed in the login line: <c>no</c>, <c>database</c> or <c>yes</c>.</summary>
    public static string StartupValue(this ReplicationMode mode) => mode switch
    {
        ReplicationMode.Logical => "database",
        ReplicationMode.Physical => "yes",
        _ => "no",
    };

    /// <summary>The replication column of SHOW CLIENTS / SERVERS / SOCKETS.</summary>
    public static string ShowName(this ReplicationMode mode) => mode switch
    {
        ReplicationMode.Logical => "logical",
        ReplicationMode.Physical => "physical",
        _ => "none",
    };
}
