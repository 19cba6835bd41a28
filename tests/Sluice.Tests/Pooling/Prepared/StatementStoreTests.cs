using System.Text;

namespace Sluice.Pooling.Prepared;

public sealed class ExpectationQueueTests
{
    private static Expectation E(int i) => new((ExpectationKind)(i % 11), new PreparedStatement(i, []));

    [Fact]
    public void Fifo_WithinTheInitialCapacity()
    {
        var q = new ExpectationQueue();
        for (var i = 0; i < 16; i++)
        {
            q.Enqueue(E(i));
        }
        Assert.Equal(16, q.Count);
        for (var i = 0; i < 16; i++)
        {
            Assert.Equal(i, q.Peek().Statement!.Id);
            Assert.Equal(i, q.Dequeue().Statement!.Id);
        }
        Assert.Equal(0, q.Count);
    }

    [Fact]
    public void GrowingPast16_KeepsFifoOrder()
    {
        var q = new ExpectationQueue();
        for (var i = 0; i < 100; i++)
        {
            q.Enqueue(E(i));
        }
        Assert.Equal(100, q.Count);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(i, q.Dequeue().Statement!.Id);
        }
    }

    [Fact]
    public void GrowingWhileWrappedAround_KeepsFifoOrder()
    {
        var q = new ExpectationQueue();
        var next = 0;
        var expected = 0;
        // Move the head into the middle of the ring, then fill past its size several times.
        for (var i = 0; i < 10; i++)
        {
            q.Enqueue(E(next++));
        }
        for (var i = 0; i < 7; i++)
        {
            Assert.Equal(expected++, q.Dequeue().Statement!.Id);
        }
        for (var round = 0; round < 5; round++)
        {
            for (var i = 0; i < 23; i++)
            {
                q.Enqueue(E(next++));
            }
            for (var i = 0; i < 11; i++)
            {
                Assert.Equal(expected++, q.Dequeue().Statement!.Id);
            }
        }
        Assert.Equal(next - expected, q.Count);
        while (q.Count > 0)
        {
            var item = q.Dequeue();
            Assert.Equal(expected, item.Statement!.Id);
            Assert.Equal((ExpectationKind)(expected % 11), item.Kind);
            expected++;
        }
        Assert.Equal(next, expected);
    }

    [Fact]
    public void Clear_EmptiesTheQueue_AndItIsReusable()
    {
        var q = new ExpectationQueue();
        for (var i = 0; i < 40; i++)
        {
            q.Enqueue(E(i));
        }
        q.Dequeue();
        q.Clear();
        Assert.Equal(0, q.Count);
        q.Enqueue(E(7));
        q.Enqueue(E(8));
        Assert.Equal(7, q.Dequeue().Statement!.Id);
        Assert.Equal(8, q.Dequeue().Statement!.Id);
    }

    [Fact]
    public void IsFake_OnlyForMadeUpReplies()
    {
        foreach (var kind in Enum.GetValues<ExpectationKind>())
        {
            Assert.Equal(kind is ExpectationKind.FakeParseComplete or ExpectationKind.FakeCloseComplete, new Expectation(kind).IsFake);
        }
    }
}

public sealed class ServerStatementsTests
{
    private static PreparedStatement S(long id) => new(id, Encoding.UTF8.GetBytes($"SELECT {id}\0\0\0"));

    [Fact]
    public void Touch_IsFalseUntilAdded()
    {
        var server = new ServerStatements();
        var s1 = S(1);
        Assert.False(server.Touch(s1));
        Assert.Null(server.Add(s1, 10));
        Assert.True(server.Touch(s1));
        Assert.Equal(1, server.Count);
    }

    [Fact]
    public void Add_OverCapacity_ReturnsTheLeastRecentlyUsed()
    {
        var server = new ServerStatements();
        var (s1, s2, s3, s4) = (S(1), S(2), S(3), S(4));
        Assert.Null(server.Add(s1, 3));
        Assert.Null(server.Add(s2, 3));
        Assert.Null(server.Add(s3, 3));
        Assert.True(server.Touch(s1));            // order now 2, 3, 1

        Assert.Same(s2, server.Add(s4, 3));       // order 3, 1, 4
        Assert.False(server.Touch(s2));
        Assert.Equal(3, server.Count);
        Assert.Same(s3, server.Add(s2, 3));       // order 1, 4, 2
        Assert.True(server.Touch(s1));
        Assert.True(server.Touch(s4));
        Assert.True(server.Touch(s2));
        Assert.False(server.Touch(s3));
    }

    [Fact]
    public void CapacityOne_KeepsOnlyTheNewest()
    {
        var server = new ServerStatements();
        var (s1, s2) = (S(1), S(2));
        Assert.Null(server.Add(s1, 1));
        Assert.Same(s1, server.Add(s2, 1));
        Assert.Equal(1, server.Count);
        Assert.True(server.Touch(s2));
    }

    [Fact]
    public void CapacityZero_IsUnlimited()
    {
        var server = new ServerStatements();
        for (var i = 1; i <= 500; i++)
        {
            Assert.Null(server.Add(S(i), 0));
        }
        Assert.Equal(500, server.Count);
    }

    [Fact]
    public void Remove_AndClear()
    {
        var server = new ServerStatements();
        var (s1, s2) = (S(1), S(2));
        server.Add(s1, 10);
        server.Add(s2, 10);
        server.Remove(s1);
        server.Remove(s1);   // twice is harmless
        Assert.False(server.Touch(s1));
        Assert.Equal(1, server.Count);
        server.Clear();
        Assert.Equal(0, server.Count);
        Assert.False(server.Touch(s2));
        Assert.Null(server.Add(s1, 1));
    }
}

public sealed class PreparedStatementRegistryTests
{
    [Fact]
    public void SameParseTail_SameStatement_NumberedFromOne()
    {
        var registry = new PreparedStatementRegistry();
        var a = registry.GetOrAdd(Wire.ParseTail("SELECT 1"));
        var b = registry.GetOrAdd(Wire.ParseTail("SELECT 2"));
        var a2 = registry.GetOrAdd(Wire.ParseTail("SELECT 1"));

        Assert.Same(a, a2);
        Assert.NotSame(a, b);
        Assert.Equal(2, registry.Count);
        Assert.Equal("SLUICE_1\0", Encoding.ASCII.GetString(a.ServerName));
        Assert.Equal("SLUICE_2\0", Encoding.ASCII.GetString(b.ServerName));
        Assert.Equal(Wire.ParseTail("SELECT 1"), a.ParseTail);
    }

    [Fact]
    public void ParameterTypes_ArePartOfTheKey()
    {
        var registry = new PreparedStatementRegistry();
        Assert.NotSame(registry.GetOrAdd(Wire.ParseTail("SELECT $1", 23)), registry.GetOrAdd(Wire.ParseTail("SELECT $1", 25)));
        Assert.NotSame(registry.GetOrAdd(Wire.ParseTail("SELECT $1", 23)), registry.GetOrAdd(Wire.ParseTail("SELECT $1")));
    }

    [Fact]
    public void ConcurrentGetOrAdd_YieldsOneStatementPerText()
    {
        var registry = new PreparedStatementRegistry();
        var results = new PreparedStatement[8][];
        Parallel.For(0, 8, t =>
        {
            results[t] = [.. Enumerable.Range(0, 200).Select(i => registry.GetOrAdd(Wire.ParseTail($"SELECT {i}")))];
        });
        Assert.Equal(200, registry.Count);
        for (var i = 0; i < 200; i++)
        {
            Assert.All(results, r => Assert.Same(results[0][i], r[i]));
        }
        Assert.Equal(200, results[0].Select(s => s.Id).Distinct().Count());
    }
}

public sealed class ClientStatementsTests
{
    [Fact]
    public void NamesAreBytes_CaseSensitive()
    {
        var client = new ClientStatements();
        var s = new PreparedStatement(1, []);
        Assert.True(client.TryAdd("s1"u8, s));
        Assert.False(client.TryAdd("s1"u8, s));
        Assert.True(client.TryAdd("S1"u8, s));
        Assert.True(client.TryGet("s1"u8, out var found));
        Assert.Same(s, found);
        client.Remove("s1"u8);
        Assert.False(client.TryGet("s1"u8, out _));
        Assert.Equal(1, client.Count);
        client.Clear();
        Assert.Equal(0, client.Count);
    }

    [Fact]
    public void ByteKeyComparer_ComparesContent()
    {
        var c = ByteKeyComparer.Instance;
        Assert.True(c.Equals([1, 2, 3], [1, 2, 3]));
        Assert.False(c.Equals([1, 2, 3], [1, 2]));
        Assert.Equal(c.GetHashCode([1, 2, 3]), c.GetHashCode(new ReadOnlySpan<byte>([1, 2, 3])));
        Assert.True(c.Equals(new ReadOnlySpan<byte>([9]), [9]));
        Assert.Equal([4, 5], c.Create(new ReadOnlySpan<byte>([4, 5])));
    }
}

public sealed class ServerStatementsShrinkTests
{
    private static PreparedStatement S(long id) => new(id, Encoding.UTF8.GetBytes($"SELECT {id}\0\0\0"));

    [Fact]
    public void TakeOldestBeyond_ShrinksToTheNewLimit_LeastRecentlyUsedFirst()
    {
        var server = new ServerStatements();
        var all = Enumerable.Range(1, 5).Select(i => S(i)).ToArray();
        foreach (var s in all)
        {
            server.Add(s, 10);
        }
        server.Touch(all[0]);   // order 2, 3, 4, 5, 1

        var taken = new List<long>();
        while (server.TakeOldestBeyond(1) is { } old)
        {
            taken.Add(old.Id);
        }

        Assert.Equal([2L, 3L, 4L, 5L], taken);
        Assert.Equal(1, server.Count);
        Assert.True(server.Touch(all[0]));
        Assert.Equal(5, server.AddedTotal);
    }
}
