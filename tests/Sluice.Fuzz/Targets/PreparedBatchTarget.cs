using Sluice.Pooling.Prepared;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Fuzz;

/// <summary>
/// BatchRewriter.Process, as ServerConnection.Prepared runs it in transaction pooling with max_prepared_statements:
/// the input is framed into messages (MessageHeader.TryRead), cut into batches after each Sync, and the batches
/// alternate between two servers that share the process-wide statement registry, with room for 3 statements each
/// so that eviction happens. Checks that a rewritten batch is a well-formed message sequence and that exactly one
/// expected reply is queued per message that gets one (plus the made-up ones).
/// Process returns an error string for bad input; nothing is caught.
/// </summary>
public sealed class PreparedBatchTarget : FuzzTarget
{
    private const int Capacity = 3;

    public override string Name => "prepared-batch";

    public override string Covers => "BatchRewriter.Process/NamesStatement on framed P/B/D/E/C/S batches";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var registry = new PreparedStatementRegistry();
        ServerStatements[] servers = [new ServerStatements(), new ServerStatements()];
        ExpectationQueue[] queues = [new ExpectationQueue(), new ExpectationQueue()];
        ClientStatements? client = null;
        var refs = new List<MessageRef>();
        var batchStart = 0;
        var pos = 0;
        var batchNumber = 0;
        while (input.Length - pos >= MessageHeader.Size)
        {
            if (!MessageHeader.TryRead(input[pos..], 1 << 20, out var code, out var size) || size > input.Length - pos)
            {
                break;
            }
            var body = input.Slice(pos + MessageHeader.Size, size - MessageHeader.Size);
            var named = code is FrontendCode.Parse or FrontendCode.Bind or FrontendCode.Describe or FrontendCode.Close
                && BatchRewriter.NamesStatement(code, body);
            refs.Add(new MessageRef(pos - batchStart, size, code, named));
            pos += size;
            if (code == FrontendCode.Sync || input.Length - pos < MessageHeader.Size)
            {
                var server = batchNumber++ % 2;
                if (!RunBatch(input[batchStart..pos], refs, ref client, registry, servers[server], queues[server]))
                {
                    return;
                }
                refs.Clear();
                batchStart = pos;
            }
        }
        if (refs.Count > 0)
        {
            RunBatch(input[batchStart..pos], refs, ref client, registry, servers[batchNumber % 2], queues[batchNumber % 2]);
        }
    }

    private static bool RunBatch(ReadOnlySpan<byte> batch, List<MessageRef> refs, ref ClientStatements? client,
        PreparedStatementRegistry registry, ServerStatements server, ExpectationQueue queue)
    {
        var anyNamed = refs.Exists(r => r.Named);
        var output = new PooledWriter(256);
        try
        {
            queue.Clear();
            var error = BatchRewriter.Process(batch, refs.ToArray(), anyNamed, ref client, registry, server, queue, Capacity, ref output, out var rewritten);
            if (error is not null)
            {
                return false;   // the client is disconnected
            }
            Check(rewritten == anyNamed, "rewritten differs from anyNamed");
            var sent = rewritten ? output.Written.Span : batch;
            Check(rewritten || output.Length == 0, "output written for a batch that needs no rewriting");

            // What goes to the server must be whole, valid messages.
            var replies = 0;
            var at = 0;
            while (at < sent.Length)
            {
                Check(sent.Length - at >= MessageHeader.Size, "truncated header in the rewritten batch");
                Check(MessageHeader.TryRead(sent[at..], int.MaxValue, out var code, out var size), "invalid length in the rewritten batch");
                Check(size <= sent.Length - at, "message overruns the rewritten batch");
                if (code is FrontendCode.Parse or FrontendCode.Bind or FrontendCode.Describe or FrontendCode.Execute
                    or FrontendCode.Close or FrontendCode.Sync or FrontendCode.Query or FrontendCode.FunctionCall)
                {
                    replies++;
                }
                if (rewritten && code is FrontendCode.Bind or FrontendCode.Describe or FrontendCode.Close && size > MessageHeader.Size)
                {
                    CheckNoClientName(code, sent.Slice(at + MessageHeader.Size, size - MessageHeader.Size));
                }
                at += size;
            }

            // One expectation per message that gets a reply, plus the made-up replies for messages not sent.
            var fakes = 0;
            var expected = queue.Count;
            while (queue.Count > 0)
            {
                fakes += queue.Dequeue().IsFake ? 1 : 0;
            }
            Check(expected == replies + fakes, $"{expected} expectations queued for {replies} replies and {fakes} made-up ones");
            return true;
        }
        finally
        {
            output.Dispose();
        }
    }

    /// <summary>A rewritten named Bind/Describe/Close refers to the server-side name, never the client's.</summary>
    private static void CheckNoClientName(byte code, ReadOnlySpan<byte> body)
    {
        if (!BatchRewriter.NamesStatement(code, body))
        {
            return;
        }
        var name = code == FrontendCode.Bind ? body[(body.IndexOf((byte)0) + 1)..] : body[1..];
        Check(name.StartsWith("SLUICE_"u8), "a named statement message was forwarded without its server name");
    }
}
