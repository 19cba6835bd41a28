using Sluice.Pooling.Prepared;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Pooling;

/// <summary>Prepared statements in transaction pooling: the server's statements and its queue of expected replies.</summary>
internal sealed partial class ServerConnection
{
    private static readonly byte[] ParseCompleteMessage = [BackendCode.ParseComplete, 0, 0, 0, 4];
    private static readonly byte[] CloseCompleteMessage = [BackendCode.CloseComplete, 0, 0, 0, 4];

    private readonly ExpectationQueue _expectations = new();

    /// <summary>Statements prepared on this server (its LRU, capped at max_prepared_statements).</summary>
    public ServerStatements Statements { get; } = new();

    /// <summary>True when replies are matched to requests: transaction or statement pooling with max_prepared_statements &gt; 0.</summary>
    public bool TracksStatements { get; private set; }

    public void EnableStatementTracking() => TracksStatements = true;

    /// <summary>
    /// <see cref="TryAccountForward"/> plus the prepared-statement rewrite of the batch, in one critical section so
    /// the expected replies are queued in exactly the order the bytes go out.
    /// </summary>
    public bool TryAccountTrackedForward(ClientConnection client, int syncs, bool unsyncedTail, ReadOnlySpan<byte> batch,
        ReadOnlySpan<MessageRef> messages, bool anyNamed, ref PooledWriter output, out bool rewritten, out string? error)
    {
        lock (_stateLock)
        {
            rewritten = false;
            error = null;
            if (!AccountLocked(client, syncs, unsyncedTail))
            {
                return false;
            }
            var statements = client.Statements;
            var parsesBefore = Statements.AddedTotal;
            error = BatchRewriter.Process(batch, messages, anyNamed, ref statements, Pool.Pooler.Statements, Statements,
                _expectations, Pool.Pooler.Config.MaxPreparedStatements, ref output, out rewritten);
            client.Statements = statements;
            if (anyNamed)
            {
                CountStatementUse(messages, Statements.AddedTotal - parsesBefore);
            }
            return true;
        }
    }

    /// <summary>SHOW STATS' prepared-statement counters, as PgBouncer counts them: named Parses and Binds from the client, Parses sent.</summary>
    private void CountStatementUse(ReadOnlySpan<MessageRef> messages, long serverParses)
    {
        var stats = Pool.Stats;
        foreach (var message in messages)
        {
            if (message.Named && message.Code == FrontendCode.Parse)
            {
                stats.AddClientParse();
            }
            else if (message.Named && message.Code == FrontendCode.Bind)
            {
                stats.AddBind();
            }
        }
        for (var i = 0L; i < serverParses; i++)
        {
            stats.AddServerParse();
        }
    }

    /// <summary>
    /// Matches one reply to the head of the queue, in one critical section per reply. Returns
    /// <see cref="ReplyAction.Swallow"/> when the reply answers a message Sluice injected and must not reach the
    /// client, and <see cref="ReplyAction.FakesFirst"/> (without matching) when made-up replies are owed to the
    /// client before it. Called by the read loop with the whole message for '1', '3' and 'C'.
    /// </summary>
    private ReplyAction TrackReply(byte code, ReadOnlySpan<byte> message)
    {
        lock (_stateLock)
        {
            if (_expectations.Count == 0)
            {
                return ReplyAction.Forward;
            }
            var head = _expectations.Peek();
            if (head.IsFake)
            {
                return ReplyAction.FakesFirst;
            }
            return MatchReply(code, message, head) ? ReplyAction.Swallow : ReplyAction.Forward;
        }
    }

    /// <summary>Under the state lock, with a real (not made-up) expectation at the head.</summary>
    private bool MatchReply(byte code, ReadOnlySpan<byte> message, Expectation head)
    {
        switch (code)
        {
            case BackendCode.ParseComplete:
                _expectations.Dequeue();
                return head.Kind == ExpectationKind.SwallowParseComplete;
            case BackendCode.CloseComplete:
                _expectations.Dequeue();
                return head.Kind == ExpectationKind.SwallowCloseComplete;
            case BackendCode.BindComplete:
                _expectations.Dequeue();
                return false;
            case BackendCode.RowDescription:
            case BackendCode.NoData:
                if (head.Kind is ExpectationKind.DescribeStatement or ExpectationKind.DescribePortal)
                {
                    _expectations.Dequeue();
                }
                return false;
            case BackendCode.CommandComplete:
                if (IsDeallocateAll(message[5..]))
                {
                    Statements.Clear();
                    _client?.Statements?.Clear();
                }
                goto case BackendCode.EmptyQueryResponse;
            case BackendCode.EmptyQueryResponse:
            case BackendCode.PortalSuspended:
                if (head.Kind == ExpectationKind.Execute)
                {
                    _expectations.Dequeue();
                }
                return false;
            case BackendCode.ErrorResponse:
                if (head.Kind != ExpectationKind.Sync)
                {
                    // PostgreSQL skips everything up to the next Sync: so do the expectations, and a Parse
                    // that never ran is forgotten so the next use prepares it again.
                    Forget(_expectations.Dequeue());
                    while (_expectations.Count > 0 && _expectations.Peek().Kind != ExpectationKind.Sync)
                    {
                        Forget(_expectations.Dequeue());
                    }
                }
                return false;
            case BackendCode.ReadyForQuery:
                while (_expectations.Count > 0)
                {
                    var done = _expectations.Dequeue();
                    if (done.Kind == ExpectationKind.Sync)
                    {
                        break;
                    }
                    Forget(done);
                }
                return false;
            default:
                return false;
        }
    }

    private void Forget(Expectation expectation)
    {
        if (expectation.Kind is ExpectationKind.Parse or ExpectationKind.SwallowParseComplete && expectation.Statement is { } statement)
        {
            Statements.Remove(statement);
        }
    }

    private bool HasLeadingFakes()
    {
        lock (_stateLock)
        {
            return _expectations.Count > 0 && _expectations.Peek().IsFake;
        }
    }

    /// <summary>Takes the made-up replies now at the head of the queue; with <paramref name="onlyIfNothingElse"/>, only when nothing real is outstanding.</summary>
    internal bool TakeLeadingFakes(ref PooledWriter output, bool onlyIfNothingElse)
    {
        lock (_stateLock)
        {
            if (onlyIfNothingElse)
            {
                for (var i = 0; i < _expectations.Count; i++)
                {
                    // Cheap scan: fakes are rare and queues short.
                    var item = _expectations.Dequeue();
                    _expectations.Enqueue(item);
                    if (!item.IsFake)
                    {
                        onlyIfNothingElse = false;
                    }
                }
                if (!onlyIfNothingElse)
                {
                    return false;
                }
            }
            var any = false;
            while (_expectations.Count > 0 && _expectations.Peek().IsFake)
            {
                var fake = _expectations.Dequeue();
                output.Write(fake.Kind == ExpectationKind.FakeParseComplete ? ParseCompleteMessage : CloseCompleteMessage);
                any = true;
            }
            return any;
        }
    }

    private int ExpectationCount
    {
        get
        {
            lock (_stateLock)
            {
                return _expectations.Count;
            }
        }
    }

    private static bool IsDeallocateAll(ReadOnlySpan<byte> tag) =>
        tag.SequenceEqual("DEALLOCATE ALL\0"u8) || tag.SequenceEqual("DISCARD ALL\0"u8);
}
