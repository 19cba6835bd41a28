using System.Buffers.Binary;
using Sluice.Pooling;
using Sluice.Pooling.Prepared;
using Sluice.Pooling.SessionState;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Fuzz;

/// <summary>
/// A client's byte stream, delivered in reads split at pseudo-random points, through what the pooler does with it:
/// LoginReader for the untyped startup-phase packets (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage →
/// StartupPacket.TryParse) and the typed login messages (password / SASL), then the leftover and the rest through
/// the forwarding loop's header scan (MessageHeader.TryRead with its skip-over-partial-message bookkeeping),
/// SessionStateTracker.Observe on complete Query/Parse texts and BatchRewriter.NamesStatement on P/B/D/C.
/// Input: byte 0 = largest read size (0 → 256), bytes 1–2 = split seed, the rest = the stream.
/// Catches only ProtocolViolationException, which LoginReader and the header scan throw for impossible lengths.
/// </summary>
public sealed class FrontendStreamTarget : FuzzTarget
{
    private const int ForwardBufferSize = 512;

    public override string Name => "frontend-stream";

    public override string Covers => "LoginReader + StartupPacket + MessageHeader framing of a chunked client stream";

    public override void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 3)
        {
            return;
        }
        var maxChunk = input[0] == 0 ? 256 : input[0];
        var seed = (uint)(input[1] << 8 | input[2]) + 1;
        var stream = input[3..].ToArray();
        var connection = new ChunkedConnection(stream, maxChunk, seed);
        try
        {
            var consumed = Login(connection, stream, out var reader);
            if (reader is null)
            {
                return;
            }
            var leftover = reader.Leftover;
            Check(consumed + leftover.Length == connection.Position, "login reader lost or duplicated bytes");
            Check(leftover.SequenceEqual(stream.AsSpan(consumed, leftover.Length)), "leftover is not the bytes after the last message");
            Forward(leftover.ToArray(), connection);
        }
        catch (ProtocolViolationException)
        {
            // "invalid packet length": the connection would be closed.
        }
    }

    /// <summary>The startup phase as ClientConnection.LoginAsync reads it. Returns the stream offset after the last message.</summary>
    private static int Login(ChunkedConnection connection, byte[] stream, out LoginReader? reader)
    {
        reader = new LoginReader(connection, StartupCode.MaxStartupPacketLength);
        var consumed = 0;
        StartupPacket? startup = null;
        for (var packets = 0; startup is null; packets++)
        {
            if (packets == 8)
            {
                reader = null;   // a real client would have been disconnected long ago
                return consumed;
            }
            var body = ChunkedConnection.Completed(reader.ReadUntypedAsync(CancellationToken.None));
            if (body is null)
            {
                reader = null;   // EOF
                return consumed;
            }
            var length = BinaryPrimitives.ReadInt32BigEndian(stream.AsSpan(consumed));
            Check(length == body.Length + 4 && length is >= 8 and <= StartupCode.MaxStartupPacketLength, "untyped packet length");
            Check(body.AsSpan().SequenceEqual(stream.AsSpan(consumed + 4, body.Length)), "untyped packet body differs from the stream");
            consumed += length;
            var code = BinaryPrimitives.ReadInt32BigEndian(body);
            switch (code)
            {
                case StartupCode.SslRequest:
                case StartupCode.GssEncRequest:
                    continue;
                case StartupCode.CancelRequest when body.Length == 12:
                    reader = null;
                    return consumed;
            }
            if (code >> 16 != 3)
            {
                reader = null;
                return consumed;
            }
            startup = StartupPacket.TryParse(body, out _);
            if (startup is null)
            {
                reader = null;
                return consumed;
            }
        }

        // Password / SASLInitialResponse / SASLResponse ('p'): typed messages read whole. With trust auth there are
        // none, and the first message after the startup packet already belongs to the forwarding loop.
        for (var i = 0; i < 3 && consumed < stream.Length && stream[consumed] == FrontendCode.Password; i++)
        {
            var (ok, code, body) = ChunkedConnection.Completed(reader.ReadTypedAsync(CancellationToken.None));
            if (!ok)
            {
                reader = null;
                return consumed;
            }
            Check(code == stream[consumed], "typed message code differs from the stream");
            var length = BinaryPrimitives.ReadInt32BigEndian(stream.AsSpan(consumed + 1));
            Check(length == body.Length + 4, "typed message length");
            Check(body.AsSpan().SequenceEqual(stream.AsSpan(consumed + 5, body.Length)), "typed message body differs from the stream");
            consumed += length + 1;
        }
        return consumed;
    }

    /// <summary>The header scan of ClientConnection's read loop, over a small buffer so messages straddle reads.</summary>
    private static void Forward(byte[] leftover, ChunkedConnection connection)
    {
        var tracker = new SessionStateTracker(new TrackedParameters(["search_path"]));
        var buffer = new byte[ForwardBufferSize];
        var filled = 0;
        var pending = leftover.AsSpan();
        var skip = 0;
        for (var rounds = 0; rounds < 100_000; rounds++)
        {
            // Fill: the login leftover first, then the connection.
            int n;
            if (!pending.IsEmpty)
            {
                n = Math.Min(pending.Length, buffer.Length - filled);
                pending[..n].CopyTo(buffer.AsSpan(filled));
                pending = pending[n..];
            }
            else
            {
                n = ChunkedConnection.Completed(connection.ReceiveAsync(buffer.AsMemory(filled)));
            }
            if (n == 0)
            {
                return;   // EOF (or a message larger than the buffer that is still incomplete)
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
                if (filled - pos < MessageHeader.Size)
                {
                    break;
                }
                if (!MessageHeader.TryRead(buffer.AsSpan(pos), int.MaxValue, out var code, out var size))
                {
                    throw new ProtocolViolationException("invalid packet length");
                }
                Check(code == buffer[pos], "header code");
                Check(size >= MessageHeader.Size && size == BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(pos + 1)) + 1, "header size");
                if (size <= filled - pos)
                {
                    var body = buffer.AsSpan(pos + MessageHeader.Size, size - MessageHeader.Size);
                    if (code is FrontendCode.Query or FrontendCode.Parse)
                    {
                        Observe(tracker, code, body);
                    }
                    if (code is FrontendCode.Parse or FrontendCode.Bind or FrontendCode.Describe or FrontendCode.Close)
                    {
                        _ = BatchRewriter.NamesStatement(code, body);
                    }
                    if (code == FrontendCode.Terminate)
                    {
                        return;
                    }
                }
                else if (code is FrontendCode.Query or FrontendCode.Parse && size <= buffer.Length)
                {
                    break;   // the tracker needs the whole text: read the rest first
                }
                var available = filled - pos;
                if (size > available)
                {
                    skip = size - available;
                    pos = filled;
                }
                else
                {
                    pos += size;
                }
            }
            buffer.AsSpan(pos, filled - pos).CopyTo(buffer);
            filled -= pos;
        }
        _ = tracker.Describe();
    }

    /// <summary>What ClientConnection.ObserveSessionState hands the tracker: the text up to its NUL (after the name for Parse).</summary>
    private static void Observe(SessionStateTracker tracker, byte code, ReadOnlySpan<byte> body)
    {
        var sql = body;
        if (code == FrontendCode.Parse)
        {
            var nameEnd = body.IndexOf((byte)0);
            sql = nameEnd < 0 ? default : body[(nameEnd + 1)..];
        }
        var end = sql.IndexOf((byte)0);
        if (end >= 0)
        {
            sql = sql[..end];
        }
        tracker.Observe(sql);
    }
}
