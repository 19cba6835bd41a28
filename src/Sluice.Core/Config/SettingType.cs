namespace Sluice.Config;

/// <summary>How the text of a [pgbouncer] setting is parsed.</summary>
public enum SettingType
{
    /// <summary>Free text, taken as written.</summary>
    String,

    /// <summary>C <c>strtol</c> base 0 like PgBouncer: <c>0x</c> is hex and a leading <c>0</c> is octal (hence <c>unix_socket_mode = 0777</c>).</summary>
    Int,

    /// <summary>An integer (non-zero = on) or on/off/yes/no/true/false.</summary>
    Bool,

    /// <summary>Seconds, fractional allowed, not negative.</summary>
    Time,

    /// <summary>One of <see cref="SettingDefinition.AllowedValues"/>, case-insensitive.</summary>
    Enum,

    /// <summary>Comma-separated names; blanks around items are dropped.</summary>
    List,
}
