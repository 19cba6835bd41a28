using System.Diagnostics;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Hostile;

/// <summary>
/// A well-behaved Npgsql client opened before an attack, inside an open transaction (so it holds a real server
/// connection through the attack). After the attack it must still work, and so must a client opened afterwards.
/// </summary>
public sealed class Bystander : IAsyncDisposable
{
    private readonly TestPooler _host;
    private readonly NpgsqlConnection _conn;
    private readonly int _backendPid;

    private Bystander(TestPooler host, NpgsqlConnection conn, int backendPid)
    {
        _host = host;
        _conn = conn;
        _backendPid = backendPid;
    }

    public static async Task<Bystander> OpenAsync(TestPooler host)
    {
        var conn = await host.OpenAsync();
        try
        {
            await conn.ExecAsync("BEGIN");
            var pid = await conn.ScalarAsync<int>("SELECT pg_backend_pid()");
            return new Bystander(host, conn, pid);
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }

    /// <summary>The bystander's transaction is intact on the same backend, it commits, and a fresh client works.</summary>
    public async Task AssertUnaffectedAsync()
    {
        var sw = Stopwatch.StartNew();
        Assert.Equal(_backendPid, await _conn.ScalarAsync<int>("SELECT pg_backend_pid()"));
        Assert.Equal(42, await _conn.ScalarAsync<int>("SELECT 41 + 1"));
        await _conn.ExecAsync("COMMIT");
        Assert.Equal(7, await _conn.ScalarAsync<int>("SELECT 7"));

        await using (var fresh = await _host.OpenAsync())
        {
            Assert.Equal("appdb", await fresh.ScalarAsync<string>("SELECT current_database()::text"));
            Assert.Equal(3, await fresh.ScalarAsync<int>("SELECT $1::int", 3));
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"well-behaved clients were slowed down to {sw.Elapsed}");
        HostileAssert.NoUnexpectedErrors(_host);
    }

    public async ValueTask DisposeAsync() => await _conn.DisposeAsync();
}

public static class HostileAssert
{
    /// <summary>The pooler logs "unexpected error in …" for exceptions it did not anticipate (a crash in a loop).</summary>
    public static void NoUnexpectedErrors(TestPooler host)
    {
        var bad = host.LogLines.Where(l => l.Contains("unexpected error", StringComparison.OrdinalIgnoreCase)
            || l.Contains("internal error", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(bad.Count == 0, "the pooler hit unexpected exceptions:\n" + string.Join('\n', bad));
    }

    /// <summary>A FATAL ErrorResponse with the SQLSTATE (and message part), then the connection closed, no login.</summary>
    public static void FatalThenClosed(Outcome o, string sqlState, string? messagePart, TestPooler host)
    {
        var context = $"{o}\n--- sluice log ---\n{host.LogTail(20)}";
        Assert.True(o.Closed, "the pooler did not close the connection in time: " + context);
        Assert.False(o.LoggedIn, "the hostile client was logged in: " + context);
        var error = o.Error;
        Assert.True(error is not null, "no ErrorResponse before the close: " + context);
        var fields = error!.Fields;
        Assert.True(fields.GetValueOrDefault('S') == "FATAL", "severity: " + context);
        Assert.True(fields.GetValueOrDefault('C') == sqlState, $"expected SQLSTATE {sqlState}: " + context);
        if (messagePart is not null)
        {
            Assert.True(fields.GetValueOrDefault('M')?.Contains(messagePart, StringComparison.Ordinal) == true,
                $"expected message containing \"{messagePart}\": " + context);
        }
    }

    /// <summary>A FATAL ErrorResponse with one of the SQLSTATEs, then the connection closed, no login.</summary>
    public static void FatalThenClosed(Outcome o, string[] sqlStates, TestPooler host)
    {
        var state = o.Error?.Fields.GetValueOrDefault('C');
        FatalThenClosed(o, state is not null && sqlStates.Contains(state) ? state : sqlStates[0], null, host);
    }

    /// <summary>Closed without logging in (an ErrorResponse is allowed but not required).</summary>
    public static void ClosedWithoutLogin(Outcome o, TestPooler host)
    {
        var context = $"{o}\n--- sluice log ---\n{host.LogTail(20)}";
        Assert.True(o.Closed, "the pooler did not close the connection in time: " + context);
        Assert.False(o.LoggedIn, "the hostile client was logged in: " + context);
    }

    public static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds:F0}s waiting for {what}");
            }
            await Task.Delay(25);
        }
    }

    /// <summary>Process memory: bytes allocated by the GC since start, and the working set after a full GC.</summary>
    public static (long Allocated, long WorkingSet) Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return (GC.GetTotalAllocatedBytes(precise: true), Environment.WorkingSet);
    }
}
