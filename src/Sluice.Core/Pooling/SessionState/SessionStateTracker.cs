using System.Text;

namespace Sluice.Pooling.SessionState;

/// <summary>
/// Follows the state a client creates that outlives its transaction — session SET, LISTEN, session advisory
/// locks, temporary tables, WITH HOLD cursors, SQL PREPARE, LOAD — so that in transaction pooling the
/// client keeps its server (is pinned) while any of it exists, and no other client can ever see it.
/// Parameters Sluice already re-applies per client (TimeZone, application_name, …) do not pin.
/// </summary>
internal sealed class SessionStateTracker(TrackedParameters tracked)
{
    private NameSet _settings;
    private NameSet _channels;
    private NameSet _holdCursors;
    private NameSet _preparedNames;
    private int _advisoryLocks;
    private int _temporaryObjects;
    private bool _loaded;
    private bool _sessionAuthorization;
    private bool _role;

    public bool IsPinned =>
        _settings.Count > 0 || _channels.Count > 0 || _holdCursors.Count > 0 || _preparedNames.Count > 0
        || _advisoryLocks > 0 || _temporaryObjects > 0 || _loaded || _sessionAuthorization || _role;

    /// <summary>True once the session ever held state: its server needs server_reset_query before reuse.</summary>
    public bool EverPinned { get; private set; }

    /// <summary>Why the client is pinned, for SHOW PINNED: e.g. "set work_mem; listen jobs; advisory locks 1".</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (_settings.Count > 0) parts.Add("set " + _settings.Join(","));
        if (_sessionAuthorization) parts.Add("session authorization");
        if (_role) parts.Add("role");
        if (_channels.Count > 0) parts.Add("listen " + _channels.Join(","));
        if (_advisoryLocks > 0) parts.Add($"advisory locks {_advisoryLocks}");
        if (_temporaryObjects > 0) parts.Add($"temporary objects {_temporaryObjects}");
        if (_holdCursors.Count > 0) parts.Add("with hold cursors " + _holdCursors.Join(","));
        if (_preparedNames.Count > 0) parts.Add("prepared " + _preparedNames.Join(","));
        if (_loaded) parts.Add("load");
        return string.Join("; ", parts);
    }

    /// <summary>Reads one Query (or Parse) text and updates the state it creates or removes.</summary>
    public void Observe(ReadOnlySpan<byte> sql)
    {
        var scanner = new SqlScanner(sql);
        while (scanner.NextStatement(out var start, out var end))
        {
            var statement = sql[start..end];
            ObserveFunctions(statement);
            // Only statements that start with one of these words can create or drop session state; the
            // check allocates nothing, so SELECT/INSERT/BEGIN… cost one scan of the text.
            var first = SqlScanner.FirstWord(statement);
            if (SqlScanner.EqualsIgnoreCase(first, "select"u8))
            {
                // SELECT … INTO TEMP creates a temporary table; "into" is rare enough to check only then.
                if (SqlScanner.ContainsIgnoreCase(statement, "into"u8) && SqlScanner.ContainsIgnoreCase(statement, "temp"u8)
                    && (ContainsPhrase(statement, "into temp") || ContainsPhrase(statement, "into temporary")
                        || ContainsPhrase(statement, "into local temp") || ContainsPhrase(statement, "into global temp")))
                {
                    _temporaryObjects++;
                }
                continue;
            }
            if (!StartsWithStateKeyword(first))
            {
                continue;
            }
            // SET LOCAL / SET TRANSACTION / SET CONSTRAINTS end with the transaction: skip them without allocating.
            if (SqlScanner.EqualsIgnoreCase(first, "set"u8))
            {
                var second = SqlScanner.FirstWord(statement[(statement.IndexOf(first) + first.Length)..]);
                if (SqlScanner.EqualsIgnoreCase(second, "local"u8) || SqlScanner.EqualsIgnoreCase(second, "transaction"u8)
                    || SqlScanner.EqualsIgnoreCase(second, "constraints"u8))
                {
                    continue;
                }
            }
            var count = SqlScanner.ReadWords(statement, _words, _words.Length);
            if (count > 0)
            {
                ObserveStatement(_words.AsSpan(0, count), statement);
            }
        }
        EverPinned |= IsPinned;
    }

    private readonly string?[] _words = new string?[8];

    private static bool StartsWithStateKeyword(ReadOnlySpan<byte> word)
    {
        foreach (var keyword in StateKeywords)
        {
            if (SqlScanner.EqualsIgnoreCase(word, keyword))
            {
                return true;
            }
        }
        return false;
    }

    private static readonly byte[][] StateKeywords =
        ["set"u8.ToArray(), "reset"u8.ToArray(), "listen"u8.ToArray(), "unlisten"u8.ToArray(), "create"u8.ToArray(),
         "declare"u8.ToArray(), "close"u8.ToArray(), "prepare"u8.ToArray(), "deallocate"u8.ToArray(), "discard"u8.ToArray(),
         "load"u8.ToArray()];

    private void ObserveFunctions(ReadOnlySpan<byte> statement)
    {
        // Cheap pre-check: most statements never mention advisory locks.
        if (!SqlScanner.ContainsIgnoreCase(statement, "advisory"u8))
        {
            return;
        }
        _advisoryLocks += SqlScanner.CountOccurrences(statement, "pg_advisory_lock"u8)
            + SqlScanner.CountOccurrences(statement, "pg_try_advisory_lock"u8)
            + SqlScanner.CountOccurrences(statement, "pg_advisory_lock_shared"u8)
            + SqlScanner.CountOccurrences(statement, "pg_try_advisory_lock_shared"u8);
        _advisoryLocks -= SqlScanner.CountOccurrences(statement, "pg_advisory_unlock"u8)
            + SqlScanner.CountOccurrences(statement, "pg_advisory_unlock_shared"u8);
        if (SqlScanner.CountOccurrences(statement, "pg_advisory_unlock_all"u8) > 0 || _advisoryLocks < 0)
        {
            _advisoryLocks = 0;
        }
    }

    private void ObserveStatement(ReadOnlySpan<string?> w, ReadOnlySpan<byte> statement)
    {
        string At(ReadOnlySpan<string?> words, int i) => i < words.Length ? words[i] ?? "" : "";

        switch (At(w, 0))
        {
            case "set":
                ObserveSet(w[1..]);
                break;
            case "reset":
                if (At(w, 1) == "all")
                {
                    // RESET ALL leaves the role and the session authorization alone (PostgreSQL's GUC_NO_RESET_ALL).
                    _settings.Clear();
                }
                else if (At(w, 1) == "session" && At(w, 2) == "authorization")
                {
                    _sessionAuthorization = false;
                    _role = false;
                }
                else if (At(w, 1) == "role")
                {
                    _role = false;
                }
                else
                {
                    _settings.Remove(At(w, 1));
                }
                break;
            case "listen":
                _channels.Add(At(w, 1));
                break;
            case "unlisten":
                if (At(w, 1) == "*")
                {
                    _channels.Clear();
                }
                else
                {
                    _channels.Remove(At(w, 1));
                }
                break;
            case "create":
                var i = 1;
                if (At(w, i) is "global" or "local")
                {
                    i++;
                }
                if (At(w, i) is "temp" or "temporary" && !ContainsPhrase(statement, "on commit drop"))
                {
                    _temporaryObjects++;
                }
                break;
            case "declare":
                if (ContainsPhrase(statement, "with hold"))
                {
                    _holdCursors.Add(At(w, 1));
                }
                break;
            case "close":
                if (At(w, 1) == "all")
                {
                    _holdCursors.Clear();
                }
                else
                {
                    _holdCursors.Remove(At(w, 1));
                }
                break;
            case "prepare":
                _preparedNames.Add(At(w, 1));
                break;
            case "deallocate":
                var name = At(w, 1) == "prepare" ? At(w, 2) : At(w, 1);
                if (name == "all")
                {
                    _preparedNames.Clear();
                }
                else
                {
                    _preparedNames.Remove(name);
                }
                break;
            case "discard":
                if (At(w, 1) == "all")
                {
                    Clear();
                }
                else if (At(w, 1) is "temp" or "temporary")
                {
                    _temporaryObjects = 0;
                }
                break;
            case "load":
                _loaded = true;
                break;
        }
    }

    private void ObserveSet(ReadOnlySpan<string?> w)
    {
        var first = w.Length > 0 ? w[0] ?? "" : "";
        switch (first)
        {
            case "local":
            case "transaction":
            case "constraints":
                return;   // ends with the transaction
            case "session":
                var second = w.Length > 1 ? w[1] ?? "" : "";
                if (second == "authorization")
                {
                    _sessionAuthorization = true;
                    return;
                }
                if (second == "characteristics")
                {
                    _settings.Add("session characteristics");
                    return;
                }
                ObserveSet(w[1..]);
                return;
            case "role":
                _role = true;
                return;
            case "time" when w.Length > 1 && w[1] == "zone":
                return;   // TimeZone is re-applied per client
            case "":
                return;
        }
        if (tracked.IndexOf(first) < 0)
        {
            _settings.Add(first);
        }
    }

    private static bool ContainsPhrase(ReadOnlySpan<byte> statement, string phrase)
    {
        var text = Encoding.UTF8.GetString(statement);
        var normalized = string.Join(' ', text.Split((char[])[' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
        return normalized.Contains(phrase, StringComparison.OrdinalIgnoreCase);
    }

    public void Clear()
    {
        _settings.Clear();
        _channels.Clear();
        _holdCursors.Clear();
        _preparedNames.Clear();
        _advisoryLocks = 0;
        _temporaryObjects = 0;
        _loaded = false;
        _sessionAuthorization = false;
        _role = false;
    }
}
