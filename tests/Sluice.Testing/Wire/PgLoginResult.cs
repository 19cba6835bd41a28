namespace Sluice.Testing.Wire;

/// <summary>The outcome of a client login: the welcome, or the error that ended it.</summary>
public sealed record PgLoginResult(
    bool Ok,
    IReadOnlyDictionary<string, string> Parameters,
    int ProcessId,
    int SecretKey,
    IReadOnlyDictionary<char, string>? Error);
