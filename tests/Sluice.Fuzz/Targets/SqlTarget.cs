using Sluice.Pooling;
using Sluice.Pooling.SessionState;

namespace Sluice.Fuzz;

/// <summary>
/// Query texts through one SessionStateTracker (SET/RESET/LISTEN/DECLARE … WITH HOLD/PREPARE/DISCARD…, advisory
/// lock counting) and through the SqlScanner primitives directly (statement splitting over quotes, dollar quotes
/// and nested comments; ReadWords; FirstWord; CountOccurrences). Input: texts separated by NUL, observed in order
/// by the same tracker, as successive Query messages of one client. Nothing is documented to throw.
/// </summary>
public sealed class SqlTarget : FuzzTarget
{
    public override string Name => "sql";

    public override string Covers => "SqlScanner + SessionStateTracker.Observe/IsPinned/Describe over successive queries";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var tracker = new SessionStateTracker(new TrackedParameters(["search_path", " extra_float_digits "]));
        var words = new string?[8];
        var rest = input;
        while (true)
        {
            var zero = rest.IndexOf((byte)0);
            var sql = zero < 0 ? rest : rest[..zero];
            tracker.Observe(sql);   // first, so that a scanner bug surfaces where the pooler would hit it
            Scan(sql, words);
            var pinned = tracker.IsPinned;
            Check(!pinned || tracker.EverPinned, "pinned but never pinned");
            Check(pinned == (tracker.Describe().Length > 0), "IsPinned disagrees with Describe");
            if (zero < 0)
            {
                break;
            }
            rest = rest[(zero + 1)..];
        }
        tracker.Clear();
        Check(!tracker.IsPinned, "pinned after Clear");
    }

    private static void Scan(ReadOnlySpan<byte> sql, string?[] words)
    {
        var scanner = new SqlScanner(sql);
        var previousEnd = 0;
        var statements = 0;
        while (scanner.NextStatement(out var start, out var end))
        {
            Check(start >= previousEnd && start < end && end <= sql.Length, $"statement [{start},{end}) after {previousEnd} in {sql.Length} bytes");
            Check(++statements <= sql.Length, "more statements than bytes");
            var statement = sql[start..end];
            var count = SqlScanner.ReadWords(statement, words, words.Length);
            Check(count is >= 0 and <= 8, "ReadWords count");
            var first = SqlScanner.FirstWord(statement);
            Check(first.Length <= statement.Length, "FirstWord longer than the statement");
            _ = SqlScanner.CountOccurrences(statement, "pg_advisory_lock"u8);
            previousEnd = end;
        }
    }
}
