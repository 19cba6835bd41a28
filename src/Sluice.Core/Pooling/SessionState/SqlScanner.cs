using System.Text;

namespace Sluice.Pooling.SessionState;

/// <summary>
/// Just enough of a SQL lexer to find where statements start and read their leading keywords: skips white
/// space, comments and quoted text ('…', "…", $tag$…$tag$) so a ';' or keyword inside them is not seen.
/// Works on the UTF-8 bytes of a Query or Parse message and allocates only for the few words it returns.
/// </summary>
internal ref struct SqlScanner(ReadOnlySpan<byte> sql)
{
    private readonly ReadOnlySpan<byte> _sql = sql;
    private int _pos;

    /// <summary>Moves to the start of the next statement; false at the end of the text.</summary>
    public bool NextStatement(out int start, out int end)
    {
        SkipSpaceAndComments();
        start = _pos;
        while (_pos < _sql.Length)
        {
            var c = _sql[_pos];
            if (c == (byte)';')
            {
                end = _pos;
                _pos++;
                if (end > start)
                {
                    return true;
                }
                SkipSpaceAndComments();
                start = _pos;
                continue;
            }
            SkipToken();
        }
        end = _pos;
        return end > start;
    }

    /// <summary>Reads the words (identifiers, keywords, '*', '=') of one statement, lower-cased, up to <paramref name="max"/>.</summary>
    public static int ReadWords(ReadOnlySpan<byte> statement, Span<string?> words, int max)
    {
        var scanner = new SqlScanner(statement);
        var count = 0;
        while (count < max)
        {
            scanner.SkipSpaceAndComments();
            if (scanner._pos >= statement.Length)
            {
                break;
            }
            var c = statement[scanner._pos];
            if (IsIdentifierStart(c))
            {
                var begin = scanner._pos;
                while (scanner._pos < statement.Length && IsIdentifierPart(statement[scanner._pos]))
                {
                    scanner._pos++;
                }
                words[count++] = Encoding.UTF8.GetString(statement[begin..scanner._pos]).ToLowerInvariant();
            }
            else if (c == (byte)'"')
            {
                var begin = scanner._pos + 1;
                scanner.SkipQuoted((byte)'"');
                words[count++] = Encoding.UTF8.GetString(statement[begin..Math.Max(begin, scanner._pos - 1)]);
            }
            else if (c is (byte)'*' or (byte)'=')
            {
                words[count++] = c == (byte)'*' ? "*" : "=";
                scanner._pos++;
            }
            else
            {
                scanner.SkipToken();
                words[count++] = "";
            }
        }
        return count;
    }

    /// <summary>The first identifier of a statement (after comments), or empty.</summary>
    public static ReadOnlySpan<byte> FirstWord(ReadOnlySpan<byte> statement)
    {
        var scanner = new SqlScanner(statement);
        scanner.SkipSpaceAndComments();
        var begin = scanner._pos;
        while (scanner._pos < statement.Length && IsIdentifierPart(statement[scanner._pos]) && statement[scanner._pos] != (byte)'.')
        {
            scanner._pos++;
        }
        return statement[begin..scanner._pos];
    }

    /// <summary>Case-insensitive search for an ASCII word in the statement, outside quotes and comments.</summary>
    public static int CountOccurrences(ReadOnlySpan<byte> statement, ReadOnlySpan<byte> lowerAsciiWord)
    {
        var count = 0;
        var scanner = new SqlScanner(statement);
        while (true)
        {
            scanner.SkipSpaceAndComments();
            if (scanner._pos >= statement.Length)
            {
                return count;
            }
            var c = statement[scanner._pos];
            if (IsIdentifierStart(c))
            {
                var begin = scanner._pos;
                while (scanner._pos < statement.Length && IsIdentifierPart(statement[scanner._pos]))
                {
                    scanner._pos++;
                }
                var word = statement[begin..scanner._pos];
                var dot = word.LastIndexOf((byte)'.');
                if (EqualsIgnoreCase(dot < 0 ? word : word[(dot + 1)..], lowerAsciiWord))
                {
                    count++;
                }
            }
            else
            {
                scanner.SkipToken();
            }
        }
    }

    public static bool EqualsIgnoreCase(ReadOnlySpan<byte> text, ReadOnlySpan<byte> lower)
    {
        if (text.Length != lower.Length)
        {
            return false;
        }
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is >= (byte)'A' and <= (byte)'Z')
            {
                c = (byte)(c + 32);
            }
            if (c != lower[i])
            {
                return false;
            }
        }
        return true;
    }

    private void SkipSpaceAndComments()
    {
        while (_pos < _sql.Length)
        {
            var c = _sql[_pos];
            if (c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\f' or 0)
            {
                _pos++;
            }
            else if (c == (byte)'-' && _pos + 1 < _sql.Length && _sql[_pos + 1] == (byte)'-')
            {
                var newline = _sql[_pos..].IndexOf((byte)'\n');
                _pos = newline < 0 ? _sql.Length : _pos + newline + 1;
            }
            else if (c == (byte)'/' && _pos + 1 < _sql.Length && _sql[_pos + 1] == (byte)'*')
            {
                // Block comments nest in PostgreSQL.
                var depth = 0;
                while (_pos < _sql.Length)
                {
                    if (_sql[_pos] == (byte)'/' && _pos + 1 < _sql.Length && _sql[_pos + 1] == (byte)'*')
                    {
                        depth++;
                        _pos += 2;
                    }
                    else if (_sql[_pos] == (byte)'*' && _pos + 1 < _sql.Length && _sql[_pos + 1] == (byte)'/')
                    {
                        depth--;
                        _pos += 2;
                        if (depth == 0)
                        {
                            break;
                        }
                    }
                    else
                    {
                        _pos++;
                    }
                }
            }
            else
            {
                return;
            }
        }
    }

    private void SkipToken()
    {
        var c = _sql[_pos];
        if (c is (byte)'\'' or (byte)'"')
        {
            SkipQuoted(c);
        }
        else if (c == (byte)'$' && TryDollarTag(out var tagLength))
        {
            var tag = _sql.Slice(_pos, tagLength);
            _pos += tagLength;
            var close = _sql[_pos..].IndexOf(tag);
            _pos = close < 0 ? _sql.Length : _pos + close + tagLength;
        }
        else if (c == (byte)'-' || c == (byte)'/')
        {
            var before = _pos;
            SkipSpaceAndComments();
            if (_pos == before)
            {
                _pos++;
            }
        }
        else if ((c | 0x20) == (byte)'e' && _pos + 1 < _sql.Length && _sql[_pos + 1] == (byte)'\'')
        {
            // E'…': an escape string, where a backslash escapes the next character (a quote included).
            _pos += 2;
            while (_pos < _sql.Length)
            {
                if (_sql[_pos] == (byte)'\\')
                {
                    // A backslash escapes the next character, if there is one: never step past the end.
                    _pos = Math.Min(_pos + 2, _sql.Length);
                }
                else if (_sql[_pos] == (byte)'\'')
                {
                    _pos++;
                    if (_pos < _sql.Length && _sql[_pos] == (byte)'\'')
                    {
                        _pos++;
                        continue;
                    }
                    break;
                }
                else
                {
                    _pos++;
                }
            }
        }
        else if (IsIdentifierStart(c))
        {
            while (_pos < _sql.Length && IsIdentifierPart(_sql[_pos]))
            {
                _pos++;
            }
        }
        else
        {
            _pos++;
        }
    }

    /// <summary>ASCII case-insensitive substring test (no allocation).</summary>
    public static bool ContainsIgnoreCase(ReadOnlySpan<byte> text, ReadOnlySpan<byte> lowerAscii)
    {
        var first = lowerAscii[0];
        for (var i = 0; i + lowerAscii.Length <= text.Length; i++)
        {
            if ((text[i] | 0x20) == first && EqualsIgnoreCase(text.Slice(i, lowerAscii.Length), lowerAscii))
            {
                return true;
            }
        }
        return false;
    }

    private void SkipQuoted(byte quote)
    {
        _pos++;
        while (_pos < _sql.Length)
        {
            if (_sql[_pos] == quote)
            {
                // A doubled quote is an escaped quote.
                if (_pos + 1 < _sql.Length && _sql[_pos + 1] == quote)
                {
                    _pos += 2;
                    continue;
                }
                _pos++;
                return;
            }
            _pos++;
        }
    }

    private readonly bool TryDollarTag(out int length)
    {
        var i = _pos + 1;
        while (i < _sql.Length && (IsIdentifierPart(_sql[i]) && _sql[i] != (byte)'$'))
        {
            i++;
        }
        if (i < _sql.Length && _sql[i] == (byte)'$' && (i == _pos + 1 || !char.IsAsciiDigit((char)_sql[_pos + 1])))
        {
            length = i - _pos + 1;
            return true;
        }
        length = 0;
        return false;
    }

    private static bool IsIdentifierStart(byte c) => c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or (byte)'_' or >= 0x80;

    private static bool IsIdentifierPart(byte c) => IsIdentifierStart(c) || c is >= (byte)'0' and <= (byte)'9' or (byte)'$' or (byte)'.';
}
