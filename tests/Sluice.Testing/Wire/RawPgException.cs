namespace Sluice.Testing.Wire;

/// <summary>An ErrorResponse received by <see cref="RawPgClient"/> where the test wanted success.</summary>
public sealed class RawPgException(IReadOnlyDictionary<char, string> fields)
    : Exception($"{fields.GetValueOrDefault('S')} {fields.GetValueOrDefault('C')}: {fields.GetValueOrDefault('M')}")
{
    public IReadOnlyDictionary<char, string> Fields { get; } = fields;

    public string? SqlState => Fields.GetValueOrDefault('C');

    public string? Severity => Fields.GetValueOrDefault('S');
}
