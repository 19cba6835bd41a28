using System.Net.Sockets;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Config;
using Sluice.Hosting;
using Sluice.Pooling;

namespace Sluice.Benchmarks;

/// <summary>
/// <see cref="Pool.AcquireAsync"/> + <see cref="Pool.Release"/>: the checkout and return of an idle server that
/// transaction pooling does around every transaction, with no waiter (the synchronous fast path). The Pooler is
/// never started and the sockets are never connected: ServerConnection's only constructor is private (its
/// ConnectAsync logs in over a socket), so it is created by reflection around an unconnected socket; nothing
/// here touches the network. The end-to-end cost with real sockets is in <see cref="ForwardingBenchmarks"/>.
/// Also: the per-query PoolStats accounting the forwarding path does.
/// </summary>
[MemoryDiagnoser]
public class PoolBenchmarks
{
    private Pooler _pooler = null!;
    private Pool _pool = null!;
    private ClientConnection _client = null!;
    private ServerConnection _server = null!;
    private readonly List<Socket> _sockets = [];

    [GlobalSetup]
    public void Setup()
    {
        var config = ConfigLoader.LoadText("""
            [databases]
            db = host=127.0.0.1 port=1 dbname=db

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = 0
            unix_socket_dir =
            auth_type = trust
            pool_mode = transaction
            """, "pool-bench.ini");
        _pooler = new Pooler(config, NullLoggerFactory.Instance);
        var database = _pooler.FindDatabase("db") ?? throw new InvalidOperationException("no db");
        _pool = _pooler.Pools.GetOrCreate(database, "app", null);
        _client = new ClientConnection(_pooler, NewSocket(), isUnixSocket: false);
        var ctor = typeof(ServerConnection).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance,
            [typeof(Pool), typeof(Socket), typeof(string)]) ?? throw new InvalidOperationException("ServerConnection(Pool, Socket, string) not found");
        _server = (ServerConnection)ctor.Invoke([_pool, NewSocket(), "bench"]);
        _pool.Release(_server);   // into the idle list
        if (_pool.IdleCount != 1 || !ReferenceEquals(AcquireRelease(), _server))
        {
            throw new InvalidOperationException("setup: the idle server was not handed out");
        }
    }

    private Socket NewSocket()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _sockets.Add(socket);
        return socket;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
    }

    /// <summary>Checkout (lock, LIFO pop, LinkTo) and return (lock, lifetime/generation checks, MarkIdle, push).</summary>
    [Benchmark(Baseline = true)]
    public object AcquireRelease()
    {
        var pending = _pool.AcquireAsync(_client);
        if (!pending.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("the fast path was not taken");
        }
        var server = pending.Result;
        // What ServerConnection.OnReadyForQueryAsync does before Release: unlink from the client.
        server.TryUnlink(_client, out _);
        _client.OnServerReleased(server);
        _pool.Release(server);
        return server;
    }

    /// <summary>The PoolStats calls of one forwarded query in transaction pooling (assignment, bytes both ways, query and transaction time).</summary>
    [Benchmark]
    public void StatsPerQuery()
    {
        var stats = _pool.Stats;
        stats.AddServerAssignment(0);
        stats.AddReceived(60);
        stats.AddSent(120);
        stats.AddQuery(87);
        stats.AddTransaction(87);
    }
}
