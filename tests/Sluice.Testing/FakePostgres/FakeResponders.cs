using System.Text.RegularExpressions;
using Sluice.Testing.Wire;

namespace Sluice.Testing.FakePostgres;

/// <summary>
/// Ready-made query responders for <see cref="FakeServerConnection.ServeQueriesAsync"/> that behave enough like
/// PostgreSQL for a pooler: transaction status follows BEGIN/COMMIT/ROLLBACK, SET of a reported parameter answers
/// with ParameterStatus, anything else returns one row.
/// </summary>
public static partial class FakeResponders
{
    private static readonly Dictionary<string, string> ReportedSpelling = FakeServerConnection.DefaultParameters
        .ToDictionary(p => p.Key, p => p.Key, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// A per-connection responder. Each statement of a multi-statement Query gets its CommandComplete, then one
    /// ReadyForQuery with the resulting status. <paramref name="select"/> may supply the single value a SELECT returns.
    /// </summary>
    public static Func<FakeServerConnection, string, Task> Transactional(Func<string, string>? select = null)
    {
        var status = 'I';
        return async (connection, sql) =>
        {
            var reply = new List<byte>();
            foreach (var raw in sql.Split(';'))
            {
                var statement = raw.Trim();
                if (statement.Length == 0)
                {
                    continue;
                }
                var upper = statement.ToUpperInvariant();
                if (upper is "BEGIN" or "START TRANSACTION")
                {
                    status = status == 'I' ? 'T' : status;
                    reply.AddRange(PgWire.CommandComplete("BEGIN"));
                }
                else if (upper is "COMMIT" or "END" or "ROLLBACK" or "ABORT")
                {
                    reply.AddRange(PgWire.CommandComplete(upper is "ROLLBACK" or "ABORT" || status == 'E' ? "ROLLBACK" : "COMMIT"));
                    status = 'I';
                }
                else if (SetPattern().Match(statement) is { Success: true } set)
                {
                    var name = set.Groups["name"].Value;
                    var value = set.Groups["value"].Value.Replace("''", "'", StringComparison.Ordinal);
                    if (ReportedSpelling.TryGetValue(name, out var reported))
                    {
                        reply.AddRange(PgWire.ParameterStatus(reported, value));
                    }
                    reply.AddRange(PgWire.CommandComplete("SET"));
                }
                else
                {
                    reply.AddRange(PgWire.RowDescription("?column?"));
                    reply.AddRange(PgWire.DataRow(select?.Invoke(statement) ?? "1"));
                    reply.AddRange(PgWire.CommandComplete("SELECT 1"));
                }
            }
            if (reply.Count == 0)
            {
                reply.AddRange(PgWire.Message('I', []));   // EmptyQueryResponse
            }
            reply.AddRange(PgWire.ReadyForQuery(status));
            await connection.SendRawAsync(reply.ToArray()).ConfigureAwait(false);
        };
    }

    [GeneratedRegex(@"^SET\s+(?:SESSION\s+)?(?<name>[A-Za-z_][A-Za-z_0-9.]*)\s*(?:=|\s+TO\s+)\s*'?(?<value>.*?)'?$", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex SetPattern();
}
