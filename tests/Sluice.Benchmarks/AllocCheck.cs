using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using Sluice.Benchmarks.Forwarding;

namespace Sluice.Benchmarks;

/// <summary>
/// <c>--alloc-check [--queries N] [--threshold B] [--trace] [--only MODE/PROTOCOL/DEPTH]</c>: forwards N queries
/// (default 100000) per configuration through an in-process Sluice and prints the bytes allocated per query
/// by the whole process (GC.GetTotalAllocatedBytes(precise: true) delta) and by Sluice alone (minus the client's
/// and the fake backend's own per-thread allocations). Exits 1 if Sluice's number is above the threshold
/// (default 16 B/query) for any configuration. <c>--trace</c> samples the allocated types with the runtime's
/// GCAllocationTick events (one per ~100 KB allocated) to say what is allocated; its numbers include the
/// listener's own allocations, so use it to find, not to measure.
/// </summary>
internal static class AllocCheck
{
    public static int Run(string[] args)
    {
        var queries = 100_000;
        var threshold = 16.0;
        var trace = false;
        string? only = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--queries":
                    queries = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--threshold":
                    threshold = double.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--trace":
                    trace = true;
                    break;
                case "--only":
                    only = args[++i];
                    break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 2;
            }
        }
        Console.WriteLine($"# {queries} queries per configuration; GC: {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, " +
            $"{Environment.ProcessorCount} CPUs, .NET {Environment.Version}");
        Console.WriteLine("| pool_mode   | protocol | depth | total B/query | client+fake B/query | Sluice B/query | queries/s | gen0 GCs |");
        Console.WriteLine("|-------------|----------|------:|--------------:|--------------------:|---------------:|----------:|---------:|");
        var failed = false;
        foreach (var mode in new[] { "session", "transaction" })
        {
            foreach (var protocol in new[] { QueryProtocol.Simple, QueryProtocol.Prepared })
            {
                foreach (var depth in new[] { 1, 64 })
                {
                    if (only is not null && only != $"{mode}/{protocol}/{depth}")
                    {
                        continue;
                    }
                    var result = Measure(mode, protocol, depth, queries, trace);
                    var sluice = result.Sluice / (double)queries;
                    var over = sluice > threshold;
                    failed |= over;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {mode,-11} | {protocol,-8} | {depth,5} | {result.Total / (double)queries,13:F2} | {result.Harness / (double)queries,19:F2} | {sluice,14:F2} | {queries / result.Elapsed.TotalSeconds,9:F0} | {result.Gen0,8} |{(over ? " OVER" : "")}"));
                    if (result.Types is { Count: > 0 } types)
                    {
                        foreach (var (type, ticks) in types.OrderByDescending(t => t.Value).Take(12))
                        {
                            Console.WriteLine($"|   sampled type: {type} ({ticks} ticks of ~100 KB)");
                        }
                    }
                }
            }
        }
        Console.WriteLine(failed ? $"FAIL: Sluice allocates more than {threshold} B per forwarded query" : $"OK: at most {threshold} B per forwarded query");
        return failed ? 1 : 0;
    }

    private sealed record Result(long Total, long Harness, long Sluice, TimeSpan Elapsed, int Gen0, Dictionary<string, int>? Types);

    private static Result Measure(string mode, QueryProtocol protocol, int depth, int queries, bool trace)
    {
        using var host = new ForwardingHost(mode, depth, protocol);
        // Let tiered compilation (and OSR of the long-lived loops) settle before measuring.
        host.Run(20_000);
        Thread.Sleep(300);
        host.Run(20_000);
        using var listener = trace ? new AllocationTickListener() : null;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var gen0 = GC.CollectionCount(0);
        var fake0 = host.Backend.AllocatedBytes;
        var client0 = GC.GetAllocatedBytesForCurrentThread();
        var total0 = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        host.Run(queries);
        watch.Stop();
        var total1 = GC.GetTotalAllocatedBytes(precise: true);
        var client1 = GC.GetAllocatedBytesForCurrentThread();
        var fake1 = host.Backend.AllocatedBytes;
        var harness = client1 - client0 + (fake1 - fake0);
        return new Result(total1 - total0, harness, total1 - total0 - harness, watch.Elapsed, GC.CollectionCount(0) - gen0, listener?.Snapshot());
    }

    /// <summary>Counts the type names of the runtime's GCAllocationTick events (sampled every ~100 KB of allocation).</summary>
    private sealed class AllocationTickListener : EventListener
    {
        private readonly Dictionary<string, int> _types = [];

        public Dictionary<string, int> Snapshot()
        {
            lock (_types)
            {
                return new Dictionary<string, int>(_types);
            }
        }

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);   // GC keyword: AllocationTick is verbose
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null)
            {
                return;
            }
            var index = e.PayloadNames.IndexOf("TypeName");
            var type = index >= 0 ? e.Payload?[index] as string ?? "?" : "?";
            lock (_types)
            {
                _types[type] = _types.GetValueOrDefault(type) + 1;
            }
        }
    }
}
