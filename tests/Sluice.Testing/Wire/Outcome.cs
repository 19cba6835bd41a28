namespace Sluice.Testing.Wire;

/// <summary>What came back from the pooler until it closed the connection (or the time ran out).</summary>
public sealed class Outcome
{
    public List<PgMessage> Messages { get; } = new();

    /// <summary>True when the pooler closed the connection (EOF or reset) within the time allowed.</summary>
    public bool Closed { get; set; }

    /// <summary>Raw bytes that did not parse as backend messages (e.g. a single 'N' answer to SSLRequest).</summary>
    public int UnparsedBytes { get; set; }

    public TimeSpan Elapsed { get; set; }

    public PgMessage? Error => Messages.FirstOrDefault(m => m.Type == 'E');

    public bool LoggedIn => Messages.Any(m => m.AuthCode == 0 || m.Type == 'Z');

    public override string ToString() =>
        $"closed={Closed} after {Elapsed.TotalSeconds:F2}s, unparsed={UnparsedBytes}, messages=[{string.Join("; ", Messages)}]";
}
