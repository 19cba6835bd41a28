using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using Sluice.Testing;

namespace Sluice.IntegrationTests.Maintenance;

/// <summary>Small helpers shared by the real-time timeout and limit tests.</summary>
internal static class MaintenanceKit
{
    /// <summary>Runs <paramref name="action"/> and returns what it threw (fails the test if it did not throw in time).</summary>
    public static async Task<Exception> ThrowsAnyAsync(Func<Task> action, TimeSpan? within = null)
    {
        try
        {
            await action().WaitAsync(within ?? TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException e) when (e.Message.Contains("The operation has timed out", StringComparison.Ordinal))
        {
            throw new Xunit.Sdk.XunitException($"no error within {within ?? TimeSpan.FromSeconds(30)}");
        }
        catch (Exception e)
        {
            return e;
        }
        throw new Xunit.Sdk.XunitException("expected an error, the operation succeeded");
    }

    /// <summary>Every message of an exception chain, with the server's MessageText and SQLSTATE of a PostgresException.</summary>
    public static string ErrorText(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
        {
            parts.Add(x is PostgresException pg ? $"{pg.SqlState}: {pg.MessageText}" : $"{x.GetType().Name}: {x.Message}");
        }
        return string.Join(" <- ", parts);
    }

    /// <summary>The SQLSTATE of the first PostgresException in the chain, or null.</summary>
    public static string? SqlState(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is PostgresException pg)
            {
                return pg.SqlState;
            }
        }
        return null;
    }

    /// <summary>Client backends of the given roles (all databases).</summary>
    public static async Task<long> CountBackendsAsync(PostgresInstance postgres, params string[] users)
    {
        await using var conn = new NpgsqlConnection(postgres.SocketConnectionString());
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND usename = ANY($1)", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = users, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>Backend pids of a role.</summary>
    public static async Task<HashSet<int>> BackendPidsAsync(PostgresInstance postgres, string user)
    {
        await using var conn = new NpgsqlConnection(postgres.SocketConnectionString());
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND usename = $1", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = user, NpgsqlDbType = NpgsqlDbType.Text });
        var pids = new HashSet<int>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            pids.Add(reader.GetInt32(0));
        }
        return pids;
    }

    /// <summary>Polls until <paramref name="condition"/> holds (real time, bounded).</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var sw = Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > (timeout ?? TimeSpan.FromSeconds(10)))
            {
                throw new Xunit.Sdk.XunitException("timed out waiting for: " + what);
            }
            await Task.Delay(50);
        }
    }
}

/// <summary>Samples the backends of several roles in the background and keeps the maximum.</summary>
internal sealed class RolesSampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _max;
    private int _samples;

    public RolesSampler(PostgresInstance postgres, params string[] users)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var n = await MaintenanceKit.CountBackendsAsync(postgres, users);
                Interlocked.Increment(ref _samples);
                if (n > Interlocked.Read(ref _max))
                {
                    Interlocked.Exchange(ref _max, n);
                }
                try
                {
                    await Task.Delay(15, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });
    }

    public long Max => Interlocked.Read(ref _max);

    public int Samples => Volatile.Read(ref _samples);

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (Exception) when (_loop.IsFaulted)
        {
        }
        _stop.Dispose();
    }
}
