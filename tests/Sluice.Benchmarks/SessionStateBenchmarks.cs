using System.Text;
using BenchmarkDotNet.Attributes;
using Sluice.Pooling;
using Sluice.Pooling.SessionState;

namespace Sluice.Benchmarks;

/// <summary>
/// <see cref="SessionStateTracker.Observe"/>, which ClientConnection runs on the text of every Query (and Parse)
/// in transaction pooling while pin_session_state = 1 (the default). Per call.
/// </summary>
[MemoryDiagnoser]
public class SessionStateBenchmarks
{
    private static readonly byte[] PgbenchSelect = Encoding.UTF8.GetBytes("SELECT abalance FROM pgbench_accounts WHERE aid = 1234");

    /// <summary>pgbench's tpcb-like transaction sent as one multi-statement Query.</summary>
    private static readonly byte[] TpcbMulti = Encoding.UTF8.GetBytes(
        "BEGIN; UPDATE pgbench_accounts SET abalance = abalance + -4211 WHERE aid = 1234; "
        + "SELECT abalance FROM pgbench_accounts WHERE aid = 1234; "
        + "UPDATE pgbench_tellers SET tbalance = tbalance + -4211 WHERE tid = 7; "
        + "UPDATE pgbench_branches SET bbalance = bbalance + -4211 WHERE bid = 1; "
        + "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (7, 1, 1234, -4211, CURRENT_TIMESTAMP); END;");

    /// <summary>A transaction-scoped SET: does not pin, but starts with a state keyword, so its words are read.</summary>
    private static readonly byte[] SetLocal = Encoding.UTF8.GetBytes("SET LOCAL statement_timeout = '5s'");

    /// <summary>A SELECT whose text contains "into" (here in a string literal): the temp-table check reads it as a string.</summary>
    private static readonly byte[] SelectMentioningInto = Encoding.UTF8.GetBytes("SELECT abalance FROM pgbench_accounts WHERE filler = 'into'");

    private SessionStateTracker _tracker = null!;

    [GlobalSetup]
    public void Setup() => _tracker = new SessionStateTracker(new TrackedParameters([]));

    [Benchmark(Baseline = true)]
    public bool Observe_PgbenchSelect()
    {
        _tracker.Observe(PgbenchSelect);
        return _tracker.IsPinned;
    }

    [Benchmark]
    public bool Observe_TpcbMultiStatement()
    {
        _tracker.Observe(TpcbMulti);
        return _tracker.IsPinned;
    }

    [Benchmark]
    public bool Observe_SetLocal()
    {
        _tracker.Observe(SetLocal);
        return _tracker.IsPinned;
    }

    [Benchmark]
    public bool Observe_SelectMentioningInto()
    {
        _tracker.Observe(SelectMentioningInto);
        return _tracker.IsPinned;
    }
}
