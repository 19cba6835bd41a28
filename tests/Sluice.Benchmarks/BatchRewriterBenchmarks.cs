using BenchmarkDotNet.Attributes;
using Sluice.Pooling.Prepared;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Benchmarks;

/// <summary>
/// <see cref="BatchRewriter.Process"/> as ServerConnection.TryAccountTrackedForward runs it (transaction pooling,
/// max_prepared_statements &gt; 0): a Bind/Execute/Sync batch naming a statement the server already has, so the Bind
/// is rewritten to the server-side name and nothing is prepared. Includes what ClientConnection does around it per
/// batch: the MessageRef scan with <see cref="BatchRewriter.NamesStatement"/> and the rented PooledWriter.
/// The expectation queue is cleared after each batch (the server's read loop dequeues them in real life).
/// </summary>
[MemoryDiagnoser]
public class BatchRewriterBenchmarks
{
    private readonly PreparedStatementRegistry _registry = new();
    private readonly ServerStatements _serverStatements = new();
    private readonly ExpectationQueue _expectations = new();
    private readonly MessageRef[] _refs = new MessageRef[16];
    private ClientStatements? _clientStatements = new();
    private byte[] _named = [];
    private byte[] _unnamed = [];

    [GlobalSetup]
    public void Setup()
    {
        // What the client's earlier Parse "s1" left behind: the registry entry, the client's name, the server's copy.
        var parse = Wire.Parse("s1", "SELECT abalance FROM pgbench_accounts WHERE aid = $1", 23);
        var body = parse.AsSpan(5);
        var tail = body[(body.IndexOf((byte)0) + 1)..];
        var statement = _registry.GetOrAdd(tail);
        _clientStatements!.TryAdd("s1\0"u8[..2], statement);
        _serverStatements.Add(statement, 200);

        _named = Wire.Concat(Wire.Bind("", "s1", "1234"), Wire.Execute(), Wire.Sync());
        _unnamed = Wire.Concat(Wire.Bind("", "", "1234"), Wire.Execute(), Wire.Sync());
        if (!Run(_named) || Run(_unnamed))
        {
            throw new InvalidOperationException("setup: expected a rewrite of the named batch only");
        }
    }

    /// <summary>Bind "s1" / Execute / Sync: the Bind is rewritten to SLUICE_n.</summary>
    [Benchmark(Baseline = true)]
    public bool NamedBindExecuteSync() => Run(_named);

    /// <summary>Unnamed Bind / Execute / Sync: passed through, only the expected replies are queued.</summary>
    [Benchmark]
    public bool UnnamedBindExecuteSync() => Run(_unnamed);

    private bool Run(byte[] batch)
    {
        // ClientConnection.ForwardLoopAsync: one MessageRef per message, named or not.
        var count = 0;
        var anyNamed = false;
        var pos = 0;
        while (pos < batch.Length)
        {
            MessageHeader.TryRead(batch.AsSpan(pos), int.MaxValue, out var code, out var size);
            var statementMessage = code is FrontendCode.Parse or FrontendCode.Bind or FrontendCode.Describe or FrontendCode.Close;
            var named = statementMessage && BatchRewriter.NamesStatement(code, batch.AsSpan(pos + 5, size - 5));
            _refs[count++] = new MessageRef(pos, size, code, named);
            anyNamed |= named;
            pos += size;
        }
        // ClientConnection.PrepareBatch: a rented writer only when something is renamed.
        var output = anyNamed ? new PooledWriter(batch.Length + 256) : default;
        try
        {
            var error = BatchRewriter.Process(batch, _refs.AsSpan(0, count), anyNamed, ref _clientStatements, _registry, _serverStatements,
                _expectations, 200, ref output, out var rewritten);
            if (error is not null)
            {
                throw new InvalidOperationException(error);
            }
            return rewritten;
        }
        finally
        {
            output.Dispose();
            _expectations.Clear();
        }
    }
}
