using BenchmarkDotNet.Attributes;
using Sluice.Benchmarks.Forwarding;

namespace Sluice.Benchmarks;

/// <summary>
/// End to end through Sluice's own code over loopback TCP: a raw-socket client → in-process Pooler
/// (ClientConnection.ForwardLoopAsync, Pool, ServerConnection.ReadLoopAsync) → <see cref="FakeBackend"/> and back.
/// Each invocation runs <see cref="Queries"/> queries, <see cref="Depth"/> per write (1 = ping-pong,
/// 64 = pipelined); results are per query. MemoryDiagnoser's Allocated counts every thread of the process
/// (BenchmarkDotNet uses GC.GetTotalAllocatedBytes(precise: true)); the client and the fake backend allocate
/// nothing per query (checked by <c>--alloc-check</c>, which subtracts their own per-thread counts), so the
/// column is Sluice's allocation per forwarded query, background runtime work included.
/// </summary>
[MemoryDiagnoser]
public class ForwardingBenchmarks
{
    public const int Queries = 256;

    private ForwardingHost _host = null!;

    [Params("session", "transaction")]
    public string Mode { get; set; } = "session";

    [Params(1, 64)]
    public int Depth { get; set; }

    [Params(QueryProtocol.Simple, QueryProtocol.Prepared)]
    public QueryProtocol Protocol { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _host = new ForwardingHost(Mode, Depth, Protocol);
        _host.Run(10_000);   // JIT/tiering of Sluice's loops happens in the background threads, outside BDN's warmup view
    }

    [GlobalCleanup]
    public void Cleanup() => _host.Dispose();

    [Benchmark(OperationsPerInvoke = Queries)]
    public void Forward() => _host.Run(Queries);
}
