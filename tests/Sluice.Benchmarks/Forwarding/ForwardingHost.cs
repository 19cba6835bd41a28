using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Config;
using Sluice.Hosting;

namespace Sluice.Benchmarks.Forwarding;

public enum QueryProtocol
{
    /// <summary>Simple protocol: one Query message per query.</summary>
    Simple,

    /// <summary>Extended protocol: Bind/Execute/Sync of statement "s1", prepared once at login (pgbench -M prepared).</summary>
    Prepared,
}

/// <summary>
/// An in-process Sluice (the real <see cref="Pooler"/>: listener, ClientConnection, Pool, ServerConnection over
/// loopback TCP) in front of a <see cref="FakeBackend"/>, and one logged-in blocking raw-socket client that
/// pipelines queries through it.
/// </summary>
internal sealed class ForwardingHost : IDisposable
{
    public const string Sql = "SELECT abalance FROM pgbench_accounts WHERE aid = 1234";

    private readonly string _dir;
    private readonly Socket _client;
    private readonly byte[] _batch;
    private readonly int _depth;
    private readonly byte[] _receive = new byte[1024 * 1024];

    public ForwardingHost(string poolMode, int depth, QueryProtocol protocol, string extraSettings = "")
    {
        Backend = new FakeBackend();
        _dir = Directory.CreateTempSubdirectory("sluice-bench-").FullName;
        var authFile = Path.Combine(_dir, "userlist.txt");
        File.WriteAllText(authFile, "\"app\" \"unused\"\n");
        var config = ConfigLoader.LoadText($"""
            [databases]
            db = host=127.0.0.1 port={Backend.Port} dbname=db

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = 0
            unix_socket_dir =
            auth_type = trust
            auth_file = {authFile}
            server_tls_sslmode = disable
            pool_mode = {poolMode}
            {extraSettings}
            """, "bench.ini");
        Pooler = new Pooler(config, NullLoggerFactory.Instance);
        Pooler.StartAsync().GetAwaiter().GetResult();
        var endPoint = Pooler.Endpoints.OfType<IPEndPoint>().First();

        _depth = depth;
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _client.Connect(endPoint);
        FakeBackend.SendAll(_client, Wire.Startup(("user", "app"), ("database", "db")));
        ReadUntilReady(1);
        var one = Wire.Query(Sql);
        if (protocol == QueryProtocol.Prepared)
        {
            FakeBackend.SendAll(_client, Wire.Concat(Wire.Parse("s1", "SELECT abalance FROM pgbench_accounts WHERE aid = $1", 23), Wire.Sync()));
            ReadUntilReady(1);
            one = Wire.Concat(Wire.Bind("", "s1", "1234"), Wire.Execute(), Wire.Sync());
        }
        _batch = Wire.Concat([.. Enumerable.Repeat(one, depth)]);
    }

    public Pooler Pooler { get; }

    public FakeBackend Backend { get; }

    /// <summary>Sends <paramref name="queries"/> queries, <c>depth</c> at a time in one write, and reads every reply.</summary>
    public void Run(int queries)
    {
        for (var done = 0; done < queries; done += _depth)
        {
            FakeBackend.SendAll(_client, _batch);
            ReadUntilReady(_depth);
        }
    }

    /// <summary>Reads replies until <paramref name="count"/> ReadyForQuery messages came; fails on an ErrorResponse.</summary>
    private void ReadUntilReady(int count)
    {
        var filled = 0;
        var skip = 0;
        while (count > 0)
        {
            var n = _client.Receive(_receive.AsSpan(filled), SocketFlags.None);
            if (n == 0)
            {
                throw new InvalidOperationException("sluice closed the client connection");
            }
            filled += n;
            var pos = 0;
            while (pos < filled)
            {
                if (skip > 0)
                {
                    var take = Math.Min(skip, filled - pos);
                    pos += take;
                    skip -= take;
                    continue;
                }
                if (filled - pos < 5)
                {
                    break;
                }
                var code = _receive[pos];
                var size = BinaryPrimitives.ReadInt32BigEndian(_receive.AsSpan(pos + 1)) + 1;
                if (code == (byte)'E')
                {
                    throw new InvalidOperationException("sluice sent an ErrorResponse");
                }
                if (code == (byte)'Z')
                {
                    if (size > filled - pos)
                    {
                        break;   // its status byte is still on its way
                    }
                    count--;
                }
                if (size > filled - pos)
                {
                    skip = size - (filled - pos);
                    pos = filled;
                }
                else
                {
                    pos += size;
                }
            }
            _receive.AsSpan(pos, filled - pos).CopyTo(_receive);
            filled -= pos;
        }
        if (filled != 0 || skip != 0)
        {
            throw new InvalidOperationException("unexpected bytes after the last ReadyForQuery");
        }
    }

    public void Dispose()
    {
        try
        {
            FakeBackend.SendAll(_client, Wire.Terminate());
        }
        catch (SocketException)
        {
        }
        _client.Dispose();
        Pooler.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Backend.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
