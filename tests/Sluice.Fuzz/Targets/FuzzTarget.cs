namespace Sluice.Fuzz;

/// <summary>
/// One parser under fuzz. <see cref="Run"/> must accept any byte sequence: it catches only the exceptions the
/// parser documents for bad input, and everything else (IndexOutOfRange, NullReference, a failed invariant
/// reported as <see cref="FuzzAssertionException"/>, …) escapes as a finding.
/// </summary>
public abstract class FuzzTarget
{
    /// <summary>The command-line name, also the corpus directory name under tests/Sluice.Fuzz/corpus/.</summary>
    public abstract string Name { get; }

    /// <summary>One line: what the target drives (printed by `Sluice.Fuzz list`).</summary>
    public abstract string Covers { get; }

    public abstract void Run(ReadOnlySpan<byte> input);

    /// <summary>Throws when an invariant of the parser's output does not hold.</summary>
    protected static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new FuzzAssertionException(what);
        }
    }
}

/// <summary>The parser returned something that breaks its own contract: a finding like any crash.</summary>
public sealed class FuzzAssertionException(string message) : Exception(message);

public static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new StartupPacketTarget(),
        new FrontendStreamTarget(),
        new PreparedBatchTarget(),
        new IniConfigTarget(),
        new ConnStringTarget(),
        new UserlistTarget(),
        new HbaTarget(),
        new ScramTarget(),
        new SqlTarget(),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
