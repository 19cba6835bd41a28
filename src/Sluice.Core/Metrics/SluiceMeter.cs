using System.Diagnostics.Metrics;
using Sluice.Hosting;

namespace Sluice.Metrics;

/// <summary>
/// The same figures through System.Diagnostics.Metrics (meter "Sluice"), for dotnet-counters and OpenTelemetry.
/// Observable instruments read the pool snapshots when collected, so nothing is recorded twice on the I/O path.
/// </summary>
internal sealed class SluiceMeter : IDisposable
{
    public const string Name = "Sluice";
    private readonly Meter _meter = new(Name, Hosting.Version.Text);

    public SluiceMeter(Pooler pooler)
    {
        _meter.CreateObservableCounter("sluice.transactions", () => Measure(pooler, p => p.Stats.Snapshot().XactCount), "{transaction}", "Transactions pooled");
        _meter.CreateObservableCounter("sluice.queries", () => Measure(pooler, p => p.Stats.Snapshot().QueryCount), "{query}", "Queries pooled");
        _meter.CreateObservableCounter("sluice.client.wait_time", () => Measure(pooler, p => p.Stats.Snapshot().WaitTimeUs / 1e6), "s", "Time clients waited for a server");
        _meter.CreateObservableUpDownCounter("sluice.clients.waiting", () => Measure(pooler, p => (double)p.WaitingCount), "{connection}", "Clients waiting for a server");
        _meter.CreateObservableUpDownCounter("sluice.clients.connected", () => Measure(pooler, p => (double)p.ClientCount), "{connection}", "Logged-in clients");
        _meter.CreateObservableUpDownCounter("sluice.servers.idle", () => Measure(pooler, p => (double)p.IdleCount), "{connection}", "Idle server connections");
        _meter.CreateObservableUpDownCounter("sluice.servers.total", () => Measure(pooler, p => (double)p.ServerCount), "{connection}", "Server connections");
    }

    private static IEnumerable<Measurement<double>> Measure(Pooler pooler, Func<Pooling.Pool, double> value)
    {
        foreach (var pool in pooler.Pools.All)
        {
            yield return new Measurement<double>(value(pool),
                new KeyValuePair<string, object?>("database", pool.Key.Database),
                new KeyValuePair<string, object?>("user", pool.Key.User));
        }
    }

    public void Dispose() => _meter.Dispose();
}
