using System.Text;

namespace Sluice.Pooling.SessionState;

public sealed class SessionStateTrackerTests
{
    private static SessionStateTracker NewTracker() => new(new TrackedParameters([]));

    private static void Observe(SessionStateTracker tracker, string sql) => tracker.Observe(Encoding.UTF8.GetBytes(sql));

    public static TheoryData<string, string> PinAndUndo => new()
    {
        { "SET work_mem = '64MB'", "RESET work_mem" },
        { "set Work_Mem to '64MB'", "reset WORK_MEM" },
        { "SET SESSION work_mem TO '64MB'", "RESET work_mem" },
        { "SET search_path TO public", "RESET search_path" },
        { "SET search_path TO public", "RESET ALL" },
        { "SET myapp.tenant = '42'", "RESET myapp.tenant" },
        { "SET ROLE app", "RESET ROLE" },
        { "SET SESSION AUTHORIZATION app", "RESET SESSION AUTHORIZATION" },
        { "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE", "RESET ALL" },
        { "LISTEN jobs", "UNLISTEN jobs" },
        { "LISTEN Jobs", "UNLISTEN jobs" },
        { "LISTEN jobs", "UNLISTEN *" },
        { "SELECT pg_advisory_lock(42)", "SELECT pg_advisory_unlock(42)" },
        { "SELECT pg_catalog.pg_advisory_lock(42)", "SELECT pg_catalog.pg_advisory_unlock(42)" },
        { "SELECT pg_try_advisory_lock(42)", "SELECT pg_advisory_unlock(42)" },
        { "SELECT pg_advisory_lock_shared(42)", "SELECT pg_advisory_unlock_shared(42)" },
        { "SELECT pg_try_advisory_lock_shared(42)", "SELECT pg_advisory_unlock_shared(42)" },
        { "SELECT pg_advisory_lock(1), pg_advisory_lock(2)", "SELECT pg_advisory_unlock_all()" },
        { "SELECT pg_advisory_lock(42)", "DISCARD ALL" },
        { "CREATE TEMP TABLE t(x int)", "DISCARD TEMP" },
        { "CREATE TEMPORARY TABLE t(x int)", "DISCARD TEMPORARY" },
        { "CREATE LOCAL TEMP TABLE t(x int)", "DISCARD ALL" },
        { "CREATE TEMP VIEW v AS SELECT 1", "DISCARD TEMP" },
        { "CREATE TEMP SEQUENCE s", "DISCARD TEMP" },
        { "CREATE TEMP TABLE t(x int) ON COMMIT DELETE ROWS", "DISCARD TEMP" },
        { "DECLARE c CURSOR WITH HOLD FOR SELECT generate_series(1, 10)", "CLOSE c" },
        { "DECLARE c NO SCROLL CURSOR WITH  HOLD FOR SELECT 1", "CLOSE ALL" },
        { "DECLARE C CURSOR WITH HOLD FOR SELECT 1", "close c" },
        { "PREPARE p AS SELECT 1", "DEALLOCATE p" },
        { "PREPARE p(int) AS SELECT $1 + 1", "DEALLOCATE PREPARE p" },
        { "PREPARE p AS SELECT 1", "DEALLOCATE ALL" },
        { "LOAD 'auto_explain'", "DISCARD ALL" },
        { "SET work_mem = '64MB'", "DISCARD ALL" },
        { "/* leading comment */ SET work_mem = '64MB'", "-- c\nRESET work_mem" },
    };

    [Theory]
    [MemberData(nameof(PinAndUndo))]
    public void EachKindPins_AndItsUndoUnpins(string pin, string undo)
    {
        var tracker = NewTracker();
        Assert.False(tracker.IsPinned);

        Observe(tracker, pin);
        Assert.True(tracker.IsPinned, $"'{pin}' should pin");
        Assert.NotEqual("", tracker.Describe());

        Observe(tracker, "SELECT 1");
        Observe(tracker, "BEGIN; INSERT INTO t VALUES (1); COMMIT");
        Assert.True(tracker.IsPinned, "ordinary statements do not unpin");

        Observe(tracker, undo);
        Assert.False(tracker.IsPinned, $"'{undo}' should unpin after '{pin}' (still: {tracker.Describe()})");
        Assert.Equal("", tracker.Describe());
        Assert.True(tracker.EverPinned);
    }

    [Theory]
    [InlineData("SET LOCAL work_mem = '64MB'")]
    [InlineData("set local search_path to public")]
    [InlineData("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")]
    [InlineData("SET TRANSACTION READ ONLY")]
    [InlineData("SET CONSTRAINTS ALL DEFERRED")]
    [InlineData("SET TimeZone = 'UTC'")]
    [InlineData("set timezone to 'Europe/Paris'")]
    [InlineData("SET TIME ZONE 'UTC'")]
    [InlineData("SET SESSION TIME ZONE 'UTC'")]
    [InlineData("SET application_name = 'x'")]
    [InlineData("SET SESSION application_name TO 'x'")]
    [InlineData("SET \"application_name\" = 'x'")]
    [InlineData("SET DateStyle = ISO")]
    [InlineData("SET client_encoding = 'UTF8'")]
    [InlineData("SET standard_conforming_strings = on")]
    [InlineData("CREATE TEMP TABLE t() ON COMMIT DROP")]
    [InlineData("create temporary table t (x int) on\n commit   drop")]
    [InlineData("CREATE TABLE t(x int)")]
    [InlineData("CREATE UNLOGGED TABLE t(x int)")]
    [InlineData("DECLARE c CURSOR FOR SELECT 1")]
    [InlineData("DECLARE c CURSOR WITHOUT HOLD FOR SELECT 1")]
    [InlineData("SELECT pg_advisory_xact_lock(1)")]
    [InlineData("SELECT pg_try_advisory_xact_lock(1)")]
    [InlineData("SELECT 'pg_advisory_lock(1)'")]
    [InlineData("SELECT 1 -- pg_advisory_lock(1)")]
    [InlineData("-- SET work_mem = 1\nSELECT 1")]
    [InlineData("/* LISTEN x; */ SELECT 1")]
    [InlineData("SELECT 'SET work_mem = 1; LISTEN x'")]
    [InlineData("SELECT $$LISTEN x$$")]
    [InlineData("SELECT set_config('work_mem', '1MB', true)")]
    [InlineData("EXECUTE p(1)")]
    [InlineData("SELECT 1")]
    [InlineData("")]
    public void DoesNotPin(string sql)
    {
        var tracker = NewTracker();
        Observe(tracker, sql);
        Assert.False(tracker.IsPinned, $"'{sql}' should not pin (pinned: {tracker.Describe()})");
        Assert.False(tracker.EverPinned);
    }

    [Theory]
    [InlineData("SET SESSION work_mem = '64MB'")]
    [InlineData("SET ROLE app")]
    [InlineData("SET SESSION AUTHORIZATION app")]
    [InlineData("SET statement_timeout = 0")]
    [InlineData("SELECT 1; SET work_mem = '1MB'")]
    [InlineData("BEGIN; SET work_mem = '1MB'; COMMIT")]
    [InlineData("SELECT pg_catalog.pg_advisory_lock(1)")]
    [InlineData("SELECT PG_ADVISORY_LOCK(1)")]
    [InlineData("WITH l AS (SELECT pg_advisory_lock(7)) SELECT * FROM l")]
    [InlineData("CREATE GLOBAL TEMPORARY TABLE t(x int)")]
    [InlineData("CREATE TEMP TABLE t AS SELECT 1 AS x")]
    [InlineData("LISTEN \"MixedCase\"")]
    [InlineData("LOAD 'auto_explain'")]
    public void Pins(string sql)
    {
        var tracker = NewTracker();
        Observe(tracker, sql);
        Assert.True(tracker.IsPinned, $"'{sql}' should pin");
        Assert.True(tracker.EverPinned);
    }

    /// <summary>SQL function names are case-insensitive: Pg_Advisory_Lock(1) takes a session lock like pg_advisory_lock(1).</summary>
    [Fact]
    public void MixedCaseAdvisoryLock_Pins()
    {
        var tracker = NewTracker();
        Observe(tracker, "SELECT Pg_Advisory_Lock(1)");
        Assert.True(tracker.IsPinned, "SELECT Pg_Advisory_Lock(1) takes a session advisory lock");
    }

    /// <summary>SELECT … INTO TEMP creates a temporary table exactly like CREATE TEMP TABLE … AS.</summary>
    [Fact]
    public void SelectIntoTemp_Pins()
    {
        var tracker = NewTracker();
        Observe(tracker, "SELECT 1 AS x INTO TEMP TABLE t");
        Assert.True(tracker.IsPinned, "SELECT … INTO TEMP TABLE creates a session-lifetime temporary table");
    }

    /// <summary>
    /// RESET ALL does not reset the role or the session authorization in PostgreSQL (both are GUC_NO_RESET_ALL;
    /// DISCARD ALL runs SET SESSION AUTHORIZATION DEFAULT before RESET ALL for that reason): the client must stay pinned.
    /// </summary>
    [Theory]
    [InlineData("SET ROLE app")]
    [InlineData("SET SESSION AUTHORIZATION app")]
    public void ResetAll_DoesNotUndoRoleOrSessionAuthorization(string pin)
    {
        var tracker = NewTracker();
        Observe(tracker, pin);
        Observe(tracker, "RESET ALL");
        Assert.True(tracker.IsPinned, $"after '{pin}; RESET ALL' the role is still changed on the server");
    }

    /// <summary>An escaped quote inside E'…' must not make the tracker see a RESET that PostgreSQL reads as part of a literal.</summary>
    [Fact]
    public void ResetInsideEscapeStringLiteral_DoesNotUnpin()
    {
        var tracker = NewTracker();
        Observe(tracker, "SET work_mem = '64MB'");
        Observe(tracker, "SELECT E'\\'; RESET work_mem; --'");
        Assert.True(tracker.IsPinned, "the RESET is inside a string literal and never runs");
    }

    [Fact]
    public void MultiStatement_SetThenReset_EndsUnpinned()
    {
        var tracker = NewTracker();
        Observe(tracker, "SET a.b=1; RESET a.b");
        Assert.False(tracker.IsPinned);
    }

    [Fact]
    public void MultiStatement_ResetThenSet_EndsPinned()
    {
        var tracker = NewTracker();
        Observe(tracker, "RESET a.b; SET a.b=1");
        Assert.True(tracker.IsPinned);
    }

    [Fact]
    public void Undo_OfOneSetting_KeepsOthers()
    {
        var tracker = NewTracker();
        Observe(tracker, "SET work_mem = '1MB'");
        Observe(tracker, "SET search_path = public");
        Observe(tracker, "RESET work_mem");
        Assert.True(tracker.IsPinned);
        Assert.Contains("search_path", tracker.Describe(), StringComparison.Ordinal);
        Observe(tracker, "RESET search_path");
        Assert.False(tracker.IsPinned);
    }

    [Fact]
    public void UnlistenOfOneChannel_KeepsTheOthers()
    {
        var tracker = NewTracker();
        Observe(tracker, "LISTEN a; LISTEN b");
        Observe(tracker, "UNLISTEN a");
        Assert.True(tracker.IsPinned);
        Observe(tracker, "UNLISTEN b");
        Assert.False(tracker.IsPinned);
    }

    [Fact]
    public void AdvisoryLocks_AreCounted_AndUnlockAllClearsThem()
    {
        var tracker = NewTracker();
        Observe(tracker, "SELECT pg_advisory_lock(1)");
        Observe(tracker, "SELECT pg_advisory_lock(2), pg_advisory_lock(3)");
        Observe(tracker, "SELECT pg_advisory_unlock(1)");
        Assert.True(tracker.IsPinned);
        Assert.Contains("advisory locks 2", tracker.Describe(), StringComparison.Ordinal);
        Observe(tracker, "SELECT pg_advisory_unlock(2)");
        Assert.True(tracker.IsPinned);
        Observe(tracker, "SELECT pg_advisory_unlock_all()");
        Assert.False(tracker.IsPinned);
    }

    [Fact]
    public void ExtraUnlocks_DoNotGoNegative()
    {
        var tracker = NewTracker();
        Observe(tracker, "SELECT pg_advisory_unlock(1), pg_advisory_unlock(2)");
        Assert.False(tracker.IsPinned);
        Observe(tracker, "SELECT pg_advisory_lock(1)");
        Assert.True(tracker.IsPinned, "a lock taken after surplus unlocks still pins");
    }

    [Fact]
    public void DiscardAll_ClearsEverything()
    {
        var tracker = NewTracker();
        Observe(tracker, """
            SET work_mem = '1MB'; SET ROLE app; SET SESSION AUTHORIZATION app; LISTEN jobs;
            SELECT pg_advisory_lock(1); CREATE TEMP TABLE t(x int);
            DECLARE c CURSOR WITH HOLD FOR SELECT 1; PREPARE p AS SELECT 1; LOAD 'auto_explain'
            """);
        Assert.True(tracker.IsPinned);
        var reason = tracker.Describe();
        foreach (var part in new[] { "set", "session authorization", "listen jobs", "advisory locks 1", "temporary objects 1", "with hold cursors c", "prepared p", "load" })
        {
            Assert.Contains(part, reason, StringComparison.Ordinal);
        }

        Observe(tracker, "DISCARD ALL");
        Assert.False(tracker.IsPinned);
        Assert.Equal("", tracker.Describe());
        Assert.True(tracker.EverPinned);
    }

    [Fact]
    public void EverPinned_StaysTrue_AfterUnpinAndLaterStatements()
    {
        var tracker = NewTracker();
        Assert.False(tracker.EverPinned);
        Observe(tracker, "SET work_mem = '1MB'");
        Assert.True(tracker.EverPinned);
        Observe(tracker, "RESET work_mem");
        Assert.False(tracker.IsPinned);
        Assert.True(tracker.EverPinned);
        Observe(tracker, "SELECT 1");
        Observe(tracker, "DISCARD ALL");
        Assert.True(tracker.EverPinned);
    }

    [Fact]
    public void ExtraTrackedParameters_DoNotPin()
    {
        var tracker = new SessionStateTracker(new TrackedParameters(["search_path"]));
        Observe(tracker, "SET search_path = public");
        Assert.False(tracker.IsPinned, "a parameter listed in track_extra_parameters is re-applied per client");
        Observe(tracker, "SET work_mem = '1MB'");
        Assert.True(tracker.IsPinned);
    }

    [Fact]
    public void Describe_NamesTheReasons()
    {
        var tracker = NewTracker();
        Observe(tracker, "SET work_mem = 1; LISTEN jobs; SELECT pg_advisory_lock(5)");
        Assert.Equal("set work_mem; listen jobs; advisory locks 1", tracker.Describe());
    }
}
