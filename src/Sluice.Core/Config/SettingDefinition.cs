namespace Sluice.Config;

/// <summary>One [pgbouncer] key: its type, PgBouncer's default (null = "not set") and whether RELOAD may change it.</summary>
public sealed record SettingDefinition(string Name, SettingType Type, string? Default, bool Reloadable)
{
    /// <summary>Accepted spellings for <see cref="SettingType.Enum"/> settings; empty otherwise.</summary>
    public IReadOnlyList<string> AllowedValues { get; init; } = [];
}
