using System.Collections;

namespace Sluice.Testing.Wire;

/// <summary>
/// The reply to one simple Query, as received: every message up to and including ReadyForQuery (or up to the
/// end of stream that came instead), with views of the result sets, command tags, first error and the
/// final transaction status.
/// </summary>
public sealed class RawQueryResult(IReadOnlyList<PgMessage> messages) : IReadOnlyList<PgMessage>
{
    public int Count => messages.Count;

    public PgMessage this[int index] => messages[index];

    /// <summary>Rows as text, one list per RowDescription (a DataRow without one opens a set too).</summary>
    public List<List<string?[]>> ResultSets
    {
        get
        {
            var sets = new List<List<string?[]>>();
            List<string?[]>? current = null;
            foreach (var m in messages)
            {
                switch (m.Type)
                {
                    case 'T':
                        current = [];
                        sets.Add(current);
                        break;
                    case 'D':
                        if (current is null)
                        {
                            current = [];
                            sets.Add(current);
                        }
                        current.Add([.. m.Values]);
                        break;
                    case 'C':
                        current = null;
                        break;
                }
            }
            return sets;
        }
    }

    public List<string> CommandTags => [.. messages.Where(m => m.Type == 'C').Select(m => m.Text)];

    /// <summary>The first ErrorResponse, or null.</summary>
    public RawPgException? Error => messages.FirstOrDefault(m => m.Type == 'E') is { } e ? new RawPgException(e.Fields) : null;

    /// <summary>The ReadyForQuery status byte: 'I', 'T' or 'E'; '\0' when the reply ended without one.</summary>
    public char TransactionStatus => Count > 0 && messages[^1].Type == 'Z' ? messages[^1].TransactionStatus : '\0';

    public string? FirstValue => ResultSets is [[var row, ..], ..] ? row[0] : null;

    public IEnumerator<PgMessage> GetEnumerator() => messages.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => PgWire.Show(messages);
}
