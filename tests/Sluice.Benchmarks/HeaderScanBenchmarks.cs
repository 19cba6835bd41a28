using BenchmarkDotNet.Attributes;
using Sluice.Pooling.Prepared;
using Sluice.Protocol;

namespace Sluice.Benchmarks;

/// <summary>
/// The header scan both read loops run over every received buffer: <see cref="MessageHeader.TryRead"/> over a
/// 16 KiB buffer of typical traffic. Results are per message (OperationsPerInvoke = messages in the buffer).
/// <list type="bullet">
/// <item>Client buffer: 64 × (Query; Parse/Bind/Describe/Execute/Sync; Bind/Execute/Sync of a named statement), 576 messages.</item>
/// <item>Server buffer: 64 × (RowDescription, 10 DataRow, CommandComplete, ReadyForQuery), 832 messages.</item>
/// </list>
/// The <c>*Loop</c> variants add what ClientConnection.ForwardLoopAsync / ServerConnection.ReadLoopAsync do per
/// header besides TryRead (the classification switch, <see cref="BatchRewriter.NamesStatement"/> when prepared
/// statements are tracked, the needBody test), copied from those loops.
/// </summary>
[MemoryDiagnoser]
public class HeaderScanBenchmarks
{
    public const int BufferSize = 16 * 1024;
    public const int Cycles = 64;
    public const int CycleSize = BufferSize / Cycles;   // 256 bytes
    public const int ClientMessages = Cycles * 9;
    public const int ServerMessages = Cycles * 13;
    private const int MaxPacket = int.MaxValue;

    private byte[] _client = [];
    private byte[] _server = [];

    [GlobalSetup]
    public void Setup()
    {
        _client = Repeat(ClientCycle(), Cycles);
        _server = Repeat(ServerCycle(), Cycles);
        if (_client.Length != BufferSize || _server.Length != BufferSize
            || Count(_client) != ClientMessages || Count(_server) != ServerMessages)
        {
            throw new InvalidOperationException("benchmark buffers are not what the constants say");
        }
    }

    /// <summary>Query; P/B/D/E/S (unnamed); B/E/S of statement "s1": 9 messages, exactly 256 bytes (the Query is padded).</summary>
    internal static byte[] ClientCycle()
    {
        var rest = Wire.Concat(
            Wire.Parse("", "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2", 23, 23),
            Wire.Bind("", "", "-4211", "1234"),
            Wire.DescribePortal(),
            Wire.Execute(),
            Wire.Sync(),
            Wire.Bind("", "s1", "1234"),
            Wire.Execute(),
            Wire.Sync());
        var sql = "SELECT abalance FROM pgbench_accounts WHERE aid = 1234;";
        sql = sql.PadRight(CycleSize - rest.Length - 6);
        return Wire.Concat(Wire.Query(sql), rest);
    }

    /// <summary>RowDescription, 10 DataRows, CommandComplete, ReadyForQuery: 13 messages, exactly 256 bytes (row values padded).</summary>
    internal static byte[] ServerCycle()
    {
        var head = Wire.RowDescription("abalance");
        var tail = Wire.Concat(Wire.CommandComplete("SELECT 10"), Wire.ReadyForQuery('T'));
        var forRows = CycleSize - head.Length - tail.Length;
        var rows = new List<byte[]>();
        for (var i = 0; i < 10; i++)
        {
            var size = forRows / 10 + (i < forRows % 10 ? 1 : 0);
            rows.Add(Wire.DataRow(new string('7', size - 11)));   // 5 header + 2 count + 4 length
        }
        return Wire.Concat([head, .. rows, tail]);
    }

    private static byte[] Repeat(byte[] cycle, int times) => Wire.Concat([.. Enumerable.Repeat(cycle, times)]);

    private static int Count(byte[] buffer)
    {
        var n = 0;
        for (var pos = 0; pos < buffer.Length; n++)
        {
            MessageHeader.TryRead(buffer.AsSpan(pos), MaxPacket, out _, out var size);
            pos += size;
        }
        return n;
    }

    [Benchmark(OperationsPerInvoke = ClientMessages)]
    public int ClientBuffer_TryRead() => Scan(_client);

    [Benchmark(OperationsPerInvoke = ServerMessages)]
    public int ServerBuffer_TryRead() => Scan(_server);

    private static int Scan(byte[] buffer)
    {
        var pos = 0;
        var filled = buffer.Length;
        var messages = 0;
        while (filled - pos >= MessageHeader.Size)
        {
            if (!MessageHeader.TryRead(buffer.AsSpan(pos), MaxPacket, out _, out var size))
            {
                throw new InvalidOperationException("invalid packet length");
            }
            pos += size;
            messages++;
        }
        return messages;
    }

    /// <summary>ForwardLoopAsync's per-header work with prepared-statement tracking on (transaction pooling's default).</summary>
    [Benchmark(OperationsPerInvoke = ClientMessages)]
    public int ClientBuffer_ForwardLoopScan()
    {
        var buffer = _client;
        var filled = buffer.Length;
        var pos = 0;
        var syncs = 0;
        var unsyncedTail = false;
        var named = 0;
        while (filled - pos >= MessageHeader.Size)
        {
            if (!MessageHeader.TryRead(buffer.AsSpan(pos), MaxPacket, out var code, out var size))
            {
                throw new InvalidOperationException("invalid packet length");
            }
            var statementMessage = code is FrontendCode.Parse or FrontendCode.Bind or FrontendCode.Describe or FrontendCode.Close;
            if (statementMessage && BatchRewriter.NamesStatement(code, buffer.AsSpan(pos + MessageHeader.Size, size - MessageHeader.Size)))
            {
                named++;
            }
            FrontendBatch.Observe(code, ref syncs, ref unsyncedTail);
            pos += size;
        }
        return syncs + named + (unsyncedTail ? 1 : 0);
    }

    /// <summary>ReadLoopAsync's per-header work for a linked server (needBody test, ReadyForQuery status byte).</summary>
    [Benchmark(OperationsPerInvoke = ServerMessages)]
    public int ServerBuffer_ReadLoopScan()
    {
        var buffer = _server;
        var filled = buffer.Length;
        var pos = 0;
        var bodies = 0;
        var tracks = true;
        while (filled - pos >= MessageHeader.Size)
        {
            if (!MessageHeader.TryRead(buffer.AsSpan(pos), MaxPacket, out var code, out var size))
            {
                throw new InvalidOperationException("invalid packet length");
            }
            var needBody = code is BackendCode.ReadyForQuery or BackendCode.ParameterStatus
                || (tracks && code is BackendCode.ParseComplete or BackendCode.CloseComplete or BackendCode.CommandComplete);
            if (needBody)
            {
                bodies += code == BackendCode.ReadyForQuery ? buffer[pos + 5] : 1;
            }
            pos += size;
        }
        return bodies;
    }
}
