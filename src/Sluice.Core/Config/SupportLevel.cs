namespace Sluice.Config;

/// <summary>How far Sluice honours a PgBouncer setting (the status column of docs/compatibility.md).</summary>
public enum SupportLevel
{
    /// <summary>Acted on as PgBouncer does.</summary>
    Implemented,
    /// <summary>Parsed and validated, shown by SHOW CONFIG, but not acted on yet; a warning is logged at start when set.</summary>
    AcceptedOnly,
    /// <summary>Accepted for compatibility and deliberately ignored (the reason is in the note).</summary>
    NotPlanned,
}
