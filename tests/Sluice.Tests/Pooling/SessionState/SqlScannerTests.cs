using System.Text;

namespace Sluice.Pooling.SessionState;

public sealed class SqlScannerTests
{
    private static List<string> Split(string sql)
    {
        var bytes = Encoding.UTF8.GetBytes(sql);
        var scanner = new SqlScanner(bytes);
        var statements = new List<string>();
        while (scanner.NextStatement(out var start, out var end))
        {
            Assert.True(end > start, "a statement is never empty");
            statements.Add(Encoding.UTF8.GetString(bytes, start, end - start).Trim());
        }
        return statements;
    }

    [Fact]
    public void SingleStatement_WithoutSemicolon()
    {
        Assert.Equal(["SELECT 1"], Split("SELECT 1"));
        Assert.Equal(["SELECT 1"], Split("   SELECT 1  \n"));
    }

    [Fact]
    public void EmptyText_AndOnlySemicolons_HaveNoStatements()
    {
        Assert.Empty(Split(""));
        Assert.Empty(Split("   \n\t "));
        Assert.Empty(Split(";;; ;"));
        Assert.Empty(Split("-- only a comment"));
        Assert.Empty(Split("/* only */ /* comments */ ;"));
    }

    [Fact]
    public void SplitsOnSemicolons_SkippingEmptyStatements()
    {
        Assert.Equal(["SELECT 1", "SELECT 2", "SELECT 3"], Split("SELECT 1; SELECT 2;;  ;SELECT 3;"));
    }

    [Theory]
    [InlineData("SELECT ';'; SELECT 2", "SELECT ';'")]
    [InlineData("SELECT 'it''s; here'; SELECT 2", "SELECT 'it''s; here'")]
    [InlineData("SELECT '';SELECT 2", "SELECT ''")]
    [InlineData("SELECT \"a;b\" FROM t; SELECT 2", "SELECT \"a;b\" FROM t")]
    [InlineData("SELECT \"we\"\"ird;\" FROM t; SELECT 2", "SELECT \"we\"\"ird;\" FROM t")]
    [InlineData("SELECT $$a;b$$; SELECT 2", "SELECT $$a;b$$")]
    [InlineData("SELECT $fn$ x; $$ ; $fn$; SELECT 2", "SELECT $fn$ x; $$ ; $fn$")]
    [InlineData("SELECT $_a1$ ; $_a1$; SELECT 2", "SELECT $_a1$ ; $_a1$")]
    [InlineData("SELECT 1 -- c; not a split\n; SELECT 2", "SELECT 1 -- c; not a split")]
    [InlineData("SELECT /* a; */ 1; SELECT 2", "SELECT /* a; */ 1")]
    [InlineData("SELECT /* a /* nested; */ still inside; */ 1; SELECT 2", "SELECT /* a /* nested; */ still inside; */ 1")]
    [InlineData("SELECT $1::int + $2; SELECT 2", "SELECT $1::int + $2")]
    [InlineData("SELECT 5-3; SELECT 2", "SELECT 5-3")]
    [InlineData("SELECT 6/3; SELECT 2", "SELECT 6/3")]
    public void SemicolonsInsideQuotesAndComments_DoNotSplit(string sql, string first)
    {
        Assert.Equal([first, "SELECT 2"], Split(sql));
    }

    [Fact]
    public void DollarQuotedFunctionBody_IsOneStatement()
    {
        const string body = """
            CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $body$
            BEGIN
              PERFORM 1; -- ; inside
              RAISE NOTICE 'x;y';
            END;
            $body$
            """;
        var statements = Split(body + "; LISTEN ch");
        Assert.Equal(2, statements.Count);
        Assert.Equal(body.Trim(), statements[0]);
        Assert.Equal("LISTEN ch", statements[1]);
    }

    [Fact]
    public void UnterminatedQuote_RunsToTheEnd()
    {
        Assert.Equal(["SELECT 'abc; SELECT 2"], Split("SELECT 'abc; SELECT 2"));
        Assert.Equal(["SELECT $$abc; SELECT 2"], Split("SELECT $$abc; SELECT 2"));
        Assert.Equal(["SELECT /* abc; SELECT 2"], Split("SELECT /* abc; SELECT 2"));
    }

    /// <summary>
    /// In an escape string constant (E'…') a backslash escapes the quote: E'a\';b' is one literal, so the ';' does
    /// not end the statement. A scanner that misses this can be made to see a RESET/DISCARD that never runs.
    /// </summary>
    [Fact]
    public void EscapeString_BackslashQuote_DoesNotEndTheLiteral()
    {
        Assert.Equal(["SELECT E'a\\';b'", "SELECT 2"], Split("SELECT E'a\\';b'; SELECT 2"));
    }

    [Theory]
    [InlineData("SET work_mem = 1", "SET")]
    [InlineData("  \n\tlisten ch", "listen")]
    [InlineData("/* c */ -- line\n  Reset all", "Reset")]
    [InlineData("/* outer /* inner */ still */DISCARD ALL", "DISCARD")]
    [InlineData("pg_catalog.set_config('a', 'b', false)", "pg_catalog")]
    [InlineData("(SELECT 1)", "")]
    [InlineData("", "")]
    [InlineData("SELECT;", "SELECT")]
    public void FirstWord_SkipsCommentsAndStopsAtNonIdentifier(string sql, string expected)
    {
        Assert.Equal(expected, Encoding.UTF8.GetString(SqlScanner.FirstWord(Encoding.UTF8.GetBytes(sql))));
    }

    private static List<string> Words(string sql, int max = 8)
    {
        var words = new string?[max];
        var count = SqlScanner.ReadWords(Encoding.UTF8.GetBytes(sql), words, max);
        return [.. words[..count].Select(w => w ?? "<null>")];
    }

    [Fact]
    public void ReadWords_LowerCasesIdentifiers()
    {
        Assert.Equal(["set", "session", "work_mem", "to", ""], Words("SET SESSION Work_Mem TO '64MB'"));
        Assert.Equal(["listen", "mychannel"], Words("LISTEN MyChannel"));
        Assert.Equal(["unlisten", "*"], Words("UNLISTEN *"));
        Assert.Equal(["set", "a.b", "=", ""], Words("SET a.b=1"));
    }

    [Fact]
    public void ReadWords_KeepsQuotedIdentifiersVerbatim()
    {
        Assert.Equal(["set", "Work_Mem", "="], Words("SET \"Work_Mem\" = 5", 3));
        Assert.Equal(["declare", "My Cursor", "cursor"], Words("DECLARE \"My Cursor\" CURSOR WITH HOLD FOR SELECT 1", 3));
    }

    [Fact]
    public void ReadWords_SkipsComments_AndStopsAtMax()
    {
        Assert.Equal(["reset", "work_mem"], Words("/* x */ RESET -- y\n work_mem"));
        Assert.Equal(["a", "b"], Words("a b c d e", 2));
    }

    [Theory]
    [InlineData("SELECT pg_advisory_lock(1)", 1)]
    [InlineData("SELECT pg_catalog.pg_advisory_lock(1)", 1)]
    [InlineData("SELECT PG_CATALOG.PG_ADVISORY_LOCK(1), pg_advisory_lock(2)", 2)]
    [InlineData("SELECT pg_advisory_lock_shared(1), pg_try_advisory_lock(2), pg_advisory_xact_lock(3)", 0)]
    [InlineData("SELECT 'pg_advisory_lock(1)' -- pg_advisory_lock(2)\n", 0)]
    [InlineData("SELECT /* pg_advisory_lock(1) */ $$pg_advisory_lock(2)$$", 0)]
    [InlineData("SELECT mypg_advisory_lock(1), pg_advisory_lockx(2)", 0)]
    public void CountOccurrences_MatchesWholeWords_SchemaQualified_OutsideQuotes(string sql, int expected)
    {
        Assert.Equal(expected, SqlScanner.CountOccurrences(Encoding.UTF8.GetBytes(sql), "pg_advisory_lock"u8));
    }

    [Theory]
    [InlineData("set", "set", true)]
    [InlineData("SET", "set", true)]
    [InlineData("SeT", "set", true)]
    [InlineData("sets", "set", false)]
    [InlineData("se", "set", false)]
    public void EqualsIgnoreCase_AsciiOnly(string text, string lower, bool expected)
    {
        Assert.Equal(expected, SqlScanner.EqualsIgnoreCase(Encoding.UTF8.GetBytes(text), Encoding.UTF8.GetBytes(lower)));
    }
}
