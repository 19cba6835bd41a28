namespace Sluice.Config;

/// <summary>
/// One meaningful line of an ini file: a section header (<see cref="Value"/> null) or a key/value pair,
/// with the file and line it came from so errors in included files point at the right place.
/// </summary>
internal readonly record struct IniEntry(string Name, string? Value, string File, int Line, bool QuotedName = false)
{
    public bool IsSection => Value is null;
}
