using System.Diagnostics;
using Sluice.Testing;

namespace Sluice.IntegrationTests.Infrastructure;

/// <summary>Samples the number of PostgreSQL backends of one role in the background and records the maximum.</summary>
public sealed class BackendSampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _max;
    private int _samples;

    private BackendSampler(PostgresInstance postgres, string user, TimeSpan interval, TimeSpan maxDuration)
    {
        _loop = Task.Run(async () =>
        {
            var sw = Stopwatch.StartNew();
            while (!_stop.IsCancellationRequested && sw.Elapsed < maxDuration)
            {
                var n = await postgres.CountBackendsAsync(user);
                Interlocked.Increment(ref _samples);
                long seen;
                while (n > (seen = Interlocked.Read(ref _max)) && Interlocked.CompareExchange(ref _max, n, seen) != seen)
                {
                }
                try
                {
                    await Task.Delay(interval, _stop.Token);
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

    public static BackendSampler Start(PostgresInstance postgres, string user, TimeSpan? interval = null, TimeSpan? maxDuration = null) =>
        new(postgres, user, interval ?? TimeSpan.FromMilliseconds(20), maxDuration ?? TimeSpan.FromMinutes(2));

    /// <summary>Stops sampling and rethrows a sampling failure.</summary>
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
