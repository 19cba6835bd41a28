using Sluice.Transport;
using static Sluice.Pooling.Prepared.ExpectationKind;

namespace Sluice.Pooling.Prepared;

public sealed class BatchRewriterTests
{
    private const int Int4 = 23;
    private const int Text = 25;

    private readonly PreparedStatementRegistry _registry = new();
    private readonly FakeServer _serverA = new();
    private readonly FakeServer _serverB = new();
    private ClientStatements? _client1;
    private ClientStatements? _client2;

    private sealed class FakeServer
    {
        public ServerStatements Statements { get; } = new();

        public ExpectationQueue Queue { get; } = new();
    }

    private sealed record Result(byte[] Sent, bool Rewritten, string? Error, Expectation[] Expectations)
    {
        public ExpectationKind[] Kinds => [.. Expectations.Select(e => e.Kind)];
    }

    /// <summary>Runs the rewrite as the server's lock section does and drains the queued expectations.</summary>
    private Result Run(FakeServer server, ref ClientStatements? client, byte[] batch, int capacity = 200)
    {
        var refs = Wire.Refs(batch, out var anyNamed);
        var output = new PooledWriter(64);
        try
        {
            var error = BatchRewriter.Process(batch, refs, anyNamed, ref client, _registry, server.Statements, server.Queue, capacity, ref output, out var rewritten);
            var expectations = new List<Expectation>();
            while (server.Queue.Count > 0)
            {
                expectations.Add(server.Queue.Dequeue());
            }
            var sent = rewritten ? output.Written.ToArray() : batch;
            if (!rewritten)
            {
                Assert.Equal(0, output.Length);
            }
            return new Result(sent, rewritten, error, [.. expectations]);
        }
        finally
        {
            output.Dispose();
        }
    }

    private Result Run1(FakeServer server, params byte[][] messages) => Run(server, ref _client1, Wire.Concat(messages));

    private Result Run2(FakeServer server, params byte[][] messages) => Run(server, ref _client2, Wire.Concat(messages));

    private static void AssertBytes(byte[] expected, byte[] actual)
    {
        Assert.True(expected.AsSpan().SequenceEqual(actual),
            $"expected: {Wire.Render(expected)}\nactual:   {Wire.Render(actual)}\n({Convert.ToHexString(expected)} vs {Convert.ToHexString(actual)})");
    }

    [Fact]
    public void UnnamedMessages_PassThroughUntouched_WithTheirExpectations()
    {
        var r = Run1(_serverA,
            Wire.Parse("", "SELECT $1::int", Int4), Wire.Bind("", "", "1"), Wire.Describe('P', ""), Wire.Execute(), Wire.Sync());

        Assert.Null(r.Error);
        Assert.False(r.Rewritten);
        Assert.Equal([Parse, Bind, DescribePortal, Execute, Sync], r.Kinds);
        Assert.Null(_client1);
        Assert.Equal(0, _registry.Count);
    }

    [Fact]
    public void UnnamedDescribeAndClose_AndFlush_QueueInOrder()
    {
        var r = Run1(_serverA, Wire.Query("SELECT 1"), Wire.Describe('S', ""), Wire.Close('P', "c1"), Wire.Flush(), Wire.Sync());

        Assert.False(r.Rewritten);
        Assert.Equal([Sync, DescribeStatement, ExpectationKind.Close, Sync], r.Kinds);
    }

    [Fact]
    public void NamedParse_IsRenamedToServerName()
    {
        var r = Run1(_serverA, Wire.Parse("s1", "SELECT $1::int", Int4), Wire.Describe('S', "s1"), Wire.Sync());

        Assert.Null(r.Error);
        Assert.True(r.Rewritten);
        AssertBytes(Wire.Concat(Wire.Parse("SLUICE_1", "SELECT $1::int", Int4), Wire.Describe('S', "SLUICE_1"), Wire.Sync()), r.Sent);
        Assert.Equal([Parse, DescribeStatement, Sync], r.Kinds);
        Assert.Equal(1, r.Expectations[0].Statement!.Id);
        Assert.Equal(1, _client1!.Count);
        Assert.Equal(1, _serverA.Statements.Count);
    }

    [Fact]
    public void ParseBindDescribeExecuteSync_AllNamesRewritten_OtherBytesKept()
    {
        var r = Run1(_serverA,
            Wire.Parse("s1", "SELECT $1::int + $2::int", Int4, Int4),
            Wire.Bind("", "s1", "40", "2"),
            Wire.Describe('P', ""),
            Wire.Execute("", 0),
            Wire.Sync());

        AssertBytes(Wire.Concat(
            Wire.Parse("SLUICE_1", "SELECT $1::int + $2::int", Int4, Int4),
            Wire.Bind("", "SLUICE_1", "40", "2"),
            Wire.Describe('P', ""),
            Wire.Execute("", 0),
            Wire.Sync()), r.Sent);
        Assert.Equal([Parse, Bind, DescribePortal, Execute, Sync], r.Kinds);
    }

    [Fact]
    public void Bind_KeepsPortalName_NullsAndParameterBytes()
    {
        Run1(_serverA, Wire.Parse("s1", "SELECT $1::text, $2::text", Text, Text), Wire.Sync());

        var r = Run1(_serverA, Wire.Bind("portal1", "s1", null, "héllo"), Wire.Execute("portal1", 5), Wire.Close('P', "portal1"), Wire.Sync());

        AssertBytes(Wire.Concat(Wire.Bind("portal1", "SLUICE_1", null, "héllo"), Wire.Execute("portal1", 5), Wire.Close('P', "portal1"), Wire.Sync()), r.Sent);
        Assert.Equal([Bind, Execute, ExpectationKind.Close, Sync], r.Kinds);
    }

    [Fact]
    public void UnnamedMessagesAroundNamedOnes_AreCopiedInOrder()
    {
        var r = Run1(_serverA,
            Wire.Query("SELECT 1"),
            Wire.Parse("", "SELECT 2"),
            Wire.Parse("n", "SELECT 3"),
            Wire.Bind("", ""),
            Wire.Execute(),
            Wire.Bind("", "n"),
            Wire.Execute(),
            Wire.Sync());

        AssertBytes(Wire.Concat(
            Wire.Query("SELECT 1"),
            Wire.Parse("", "SELECT 2"),
            Wire.Parse("SLUICE_1", "SELECT 3"),
            Wire.Bind("", ""),
            Wire.Execute(),
            Wire.Bind("", "SLUICE_1"),
            Wire.Execute(),
            Wire.Sync()), r.Sent);
        Assert.Equal([Sync, Parse, Parse, Bind, Execute, Bind, Execute, Sync], r.Kinds);
    }

    [Fact]
    public void SameTextFromAnotherClient_OnTheSameServer_IsNotSent_AndGetsAFakeParseComplete()
    {
        Run1(_serverA, Wire.Parse("mine", "SELECT $1::int", Int4), Wire.Sync());

        var r = Run2(_serverA, Wire.Parse("theirs", "SELECT $1::int", Int4), Wire.Bind("", "theirs", "7"), Wire.Execute(), Wire.Sync());

        Assert.Null(r.Error);
        AssertBytes(Wire.Concat(Wire.Bind("", "SLUICE_1", "7"), Wire.Execute(), Wire.Sync()), r.Sent);
        Assert.Equal([FakeParseComplete, Bind, Execute, Sync], r.Kinds);
        Assert.Equal(1, _registry.Count);
        Assert.True(r.Expectations[0].IsFake);
    }

    [Fact]
    public void SameTextWithOtherParameterTypes_IsAnotherStatement()
    {
        var r = Run1(_serverA, Wire.Parse("a", "SELECT $1", Int4), Wire.Parse("b", "SELECT $1", Text), Wire.Parse("c", "SELECT $1"), Wire.Sync());

        AssertBytes(Wire.Concat(
            Wire.Parse("SLUICE_1", "SELECT $1", Int4),
            Wire.Parse("SLUICE_2", "SELECT $1", Text),
            Wire.Parse("SLUICE_3", "SELECT $1"),
            Wire.Sync()), r.Sent);
        Assert.Equal(3, _registry.Count);
    }

    [Fact]
    public void Bind_OnAServerLackingTheStatement_InjectsParseFirst()
    {
        Run1(_serverA, Wire.Parse("s1", "SELECT $1::int", Int4), Wire.Sync());

        var r = Run1(_serverB, Wire.Bind("", "s1", "5"), Wire.Execute(), Wire.Sync());

        AssertBytes(Wire.Concat(Wire.Parse("SLUICE_1", "SELECT $1::int", Int4), Wire.Bind("", "SLUICE_1", "5"), Wire.Execute(), Wire.Sync()), r.Sent);
        Assert.Equal([SwallowParseComplete, Bind, Execute, Sync], r.Kinds);
        Assert.Equal(1, r.Expectations[0].Statement!.Id);
        Assert.Equal(1, _serverB.Statements.Count);

        // Now prepared there: the next Bind is only renamed.
        var again = Run1(_serverB, Wire.Bind("", "s1", "6"), Wire.Execute(), Wire.Sync());
        AssertBytes(Wire.Concat(Wire.Bind("", "SLUICE_1", "6"), Wire.Execute(), Wire.Sync()), again.Sent);
        Assert.Equal([Bind, Execute, Sync], again.Kinds);
    }

    [Fact]
    public void DescribeStatement_OnAServerLackingIt_InjectsParseFirst()
    {
        Run1(_serverA, Wire.Parse("s1", "SELECT 1"), Wire.Sync());

        var r = Run1(_serverB, Wire.Describe('S', "s1"), Wire.Sync());

        AssertBytes(Wire.Concat(Wire.Parse("SLUICE_1", "SELECT 1"), Wire.Describe('S', "SLUICE_1"), Wire.Sync()), r.Sent);
        Assert.Equal([SwallowParseComplete, DescribeStatement, Sync], r.Kinds);
    }

    [Fact]
    public void StatementOfAnotherClient_IsInjectedOnlyOncePerServer()
    {
        Run1(_serverA, Wire.Parse("x", "SELECT 42"), Wire.Sync());
        Run2(_serverB, Wire.Parse("y", "SELECT 42"), Wire.Sync());

        // Client 1's statement is already on server B thanks to client 2: nothing injected.
        var r = Run1(_serverB, Wire.Bind("", "x"), Wire.Execute(), Wire.Sync());

        AssertBytes(Wire.Concat(Wire.Bind("", "SLUICE_1"), Wire.Execute(), Wire.Sync()), r.Sent);
        Assert.Equal([Bind, Execute, Sync], r.Kinds);
    }

    [Fact]
    public void OverCapacity_TheLeastRecentlyUsedIsClosedBeforeTheNewParse()
    {
        var r = Run(_serverA, ref _client1, Wire.Concat(
            Wire.Parse("a", "SELECT 'a'"), Wire.Parse("b", "SELECT 'b'"), Wire.Parse("c", "SELECT 'c'"), Wire.Sync()), capacity: 2);

        AssertBytes(Wire.Concat(
            Wire.Parse("SLUICE_1", "SELECT 'a'"),
            Wire.Parse("SLUICE_2", "SELECT 'b'"),
            Wire.Close('S', "SLUICE_1"),
            Wire.Parse("SLUICE_3", "SELECT 'c'"),
            Wire.Sync()), r.Sent);
        Assert.Equal([Parse, Parse, SwallowCloseComplete, Parse, Sync], r.Kinds);
        Assert.Equal(2, _serverA.Statements.Count);

        // 'a' was evicted: using it prepares it again, evicting 'b' (now the oldest).
        var again = Run(_serverA, ref _client1, Wire.Concat(Wire.Bind("", "a"), Wire.Execute(), Wire.Sync()), capacity: 2);
        AssertBytes(Wire.Concat(
            Wire.Close('S', "SLUICE_2"),
            Wire.Parse("SLUICE_1", "SELECT 'a'"),
            Wire.Bind("", "SLUICE_1"),
            Wire.Execute(),
            Wire.Sync()), again.Sent);
        Assert.Equal([SwallowCloseComplete, SwallowParseComplete, Bind, Execute, Sync], again.Kinds);
        Assert.Equal(2, _serverA.Statements.Count);
    }

    [Fact]
    public void Eviction_FollowsUse_NotPreparationOrder()
    {
        Run(_serverA, ref _client1, Wire.Concat(Wire.Parse("a", "SELECT 'a'"), Wire.Parse("b", "SELECT 'b'"), Wire.Sync()), capacity: 2);
        Run(_serverA, ref _client1, Wire.Concat(Wire.Bind("", "a"), Wire.Execute(), Wire.Sync()), capacity: 2);

        var r = Run(_serverA, ref _client1, Wire.Concat(Wire.Parse("c", "SELECT 'c'"), Wire.Sync()), capacity: 2);

        AssertBytes(Wire.Concat(Wire.Close('S', "SLUICE_2"), Wire.Parse("SLUICE_3", "SELECT 'c'"), Wire.Sync()), r.Sent);
        Assert.Equal([SwallowCloseComplete, Parse, Sync], r.Kinds);
    }

    [Fact]
    public void CapacityZero_MeansNoEviction()
    {
        var r = Run(_serverA, ref _client1, Wire.Concat(
            Wire.Parse("a", "SELECT 1"), Wire.Parse("b", "SELECT 2"), Wire.Parse("c", "SELECT 3"), Wire.Sync()), capacity: 0);

        Assert.Equal([Parse, Parse, Parse, Sync], r.Kinds);
        Assert.Equal(3, _serverA.Statements.Count);
    }

    [Fact]
    public void CloseStatement_IsNotForwarded_OnlyForgetsTheClientName()
    {
        Run1(_serverA, Wire.Parse("s1", "SELECT 1"), Wire.Sync());

        var r = Run1(_serverA, Wire.Close('S', "s1"), Wire.Sync());

        Assert.Null(r.Error);
        Assert.True(r.Rewritten);
        AssertBytes(Wire.Sync(), r.Sent);
        Assert.Equal([FakeCloseComplete, Sync], r.Kinds);
        Assert.Equal(0, _client1!.Count);
        Assert.Equal(1, _serverA.Statements.Count);

        // The name is gone for this client…
        Assert.Equal("prepared statement did not exist", Run1(_serverA, Wire.Bind("", "s1"), Wire.Execute(), Wire.Sync()).Error);
    }

    [Fact]
    public void CloseStatement_ThenParseOfTheSameName_IsAllowed()
    {
        Run1(_serverA, Wire.Parse("s1", "SELECT 1"), Wire.Sync());
        Run1(_serverA, Wire.Close('S', "s1"), Wire.Sync());

        var r = Run1(_serverA, Wire.Parse("s1", "SELECT 2"), Wire.Bind("", "s1"), Wire.Execute(), Wire.Sync());

        Assert.Null(r.Error);
        AssertBytes(Wire.Concat(Wire.Parse("SLUICE_2", "SELECT 2"), Wire.Bind("", "SLUICE_2"), Wire.Execute(), Wire.Sync()), r.Sent);
    }

    [Fact]
    public void CloseAndParseInOneBatch_FakeCloseCompleteQueuedInOrder()
    {
        Run1(_serverA, Wire.Parse("s1", "SELECT 1"), Wire.Sync());

        var r = Run1(_serverA, Wire.Bind("", "s1"), Wire.Execute(), Wire.Close('S', "s1"), Wire.Parse("s1", "SELECT 1"), Wire.Sync());

        AssertBytes(Wire.Concat(Wire.Bind("", "SLUICE_1"), Wire.Execute(), Wire.Sync()), r.Sent);
        Assert.Equal([Bind, Execute, FakeCloseComplete, FakeParseComplete, Sync], r.Kinds);
    }

    [Fact]
    public void ClosePortal_PassesThrough()
    {
        var r = Run1(_serverA, Wire.Close('P', "c1"), Wire.Sync());

        Assert.False(r.Rewritten);
        Assert.Equal([ExpectationKind.Close, Sync], r.Kinds);
    }

    [Fact]
    public void ParseOfANameInUse_IsAnError()
    {
        Run1(_serverA, Wire.Parse("s1", "SELECT 1"), Wire.Sync());

        var r = Run1(_serverA, Wire.Parse("s1", "SELECT 1"), Wire.Sync());

        Assert.Equal("prepared statement name is already in use", r.Error);
    }

    [Fact]
    public void NamesArePerClient_AnotherClientMayUseTheSameName()
    {
        Run1(_serverA, Wire.Parse("s1", "SELECT 1"), Wire.Sync());

        var r = Run2(_serverA, Wire.Parse("s1", "SELECT 2"), Wire.Sync());

        Assert.Null(r.Error);
        AssertBytes(Wire.Concat(Wire.Parse("SLUICE_2", "SELECT 2"), Wire.Sync()), r.Sent);
    }

    [Fact]
    public void BindOrDescribeOfAnUnknownName_IsAnError()
    {
        Assert.Equal("prepared statement did not exist", Run1(_serverA, Wire.Bind("", "nope"), Wire.Sync()).Error);
        Assert.Equal("prepared statement did not exist", Run1(_serverA, Wire.Describe('S', "nope"), Wire.Sync()).Error);
    }

    [Fact]
    public void CloseOfAnUnknownName_IsAnsweredAnyway()
    {
        var r = Run1(_serverA, Wire.Close('S', "never"), Wire.Sync());

        Assert.Null(r.Error);
        Assert.Equal([FakeCloseComplete, Sync], r.Kinds);
    }

    public static TheoryData<byte[], bool> NamedMessages => new()
    {
        { Wire.Parse("s1", "SELECT 1"), true },
        { Wire.Parse("", "SELECT 1"), false },
        { Wire.Bind("", "s1"), true },
        { Wire.Bind("portal", "s1"), true },
        { Wire.Bind("portal", ""), false },
        { Wire.Bind("", ""), false },
        { Wire.Describe('S', "s1"), true },
        { Wire.Describe('S', ""), false },
        { Wire.Describe('P', "portal"), false },
        { Wire.Describe('P', ""), false },
        { Wire.Close('S', "s1"), true },
        { Wire.Close('S', ""), false },
        { Wire.Close('P', "portal"), false },
        { Wire.Execute("portal"), false },
        { Wire.Sync(), false },
        { Wire.Query("PREPARE s1 AS SELECT 1"), false },
    };

    [Theory]
    [MemberData(nameof(NamedMessages))]
    public void NamesStatement_ForEachMessageType(byte[] message, bool expected)
    {
        Assert.Equal(expected, BatchRewriter.NamesStatement(message[0], message.AsSpan(5)));
    }

    [Fact]
    public void LengthOf_ReadsTheHeader()
    {
        Assert.Equal(4, BatchRewriter.LengthOf(Wire.Sync()));
        var parse = Wire.Parse("abc", "SELECT 1");
        Assert.Equal(parse.Length - 1, BatchRewriter.LengthOf(parse));
    }
}
