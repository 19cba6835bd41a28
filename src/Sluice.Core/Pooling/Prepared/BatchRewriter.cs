using System.Buffers.Binary;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Pooling.Prepared;

/// <summary>
/// Makes a batch of client messages fit the server it landed on (PgBouncer's prepared-statement support in
/// transaction pooling): named statements are renamed to their process-wide server names, prepared on this
/// server when it lacks them, and the server's expected replies are queued in order so the read loop can drop
/// replies to injected messages and make up replies to messages that were not sent.
/// </summary>
internal static class BatchRewriter
{
    /// <summary>
    /// Runs under the server's state lock. Returns null on success (the output is in <paramref name="output"/>
    /// when <paramref name="rewritten"/>), or the error that must end the client.
    /// </summary>
    public static string? Process(
        ReadOnlySpan<byte> batch,
        ReadOnlySpan<MessageRef> messages,
        bool anyNamed,
        ref ClientStatements? clientStatements,
        PreparedStatementRegistry registry,
        ServerStatements serverStatements,
        ExpectationQueue expectations,
        int capacity,
        ref PooledWriter output,
        out bool rewritten)
    {
        rewritten = anyNamed;
        var copied = 0;   // batch bytes already accounted for in the output
        foreach (var message in messages)
        {
            if (!message.Named)
            {
                Enqueue(expectations, message, batch);
                continue;
            }
            // Copy the untouched bytes before this message, then write its replacement.
            output.Write(batch[copied..message.Offset]);
            copied = message.Offset + message.Length;
            var body = batch.Slice(message.Offset + 5, message.Length - 5);
            clientStatements ??= new ClientStatements();
            string? error = message.Code switch
            {
                FrontendCode.Parse => RewriteParse(body, clientStatements, registry, serverStatements, expectations, capacity, ref output),
                FrontendCode.Bind => RewriteBind(body, clientStatements, serverStatements, expectations, capacity, ref output),
                FrontendCode.Describe => RewriteDescribe(body, clientStatements, serverStatements, expectations, capacity, ref output),
                FrontendCode.Close => CloseStatement(body, clientStatements, expectations),
                _ => null,
            };
            if (error is not null)
            {
                return error;
            }
        }
        if (anyNamed)
        {
            output.Write(batch[copied..]);
        }
        return null;
    }

    /// <summary>The reply a forwarded message will produce, for messages passed through unchanged.</summary>
    private static void Enqueue(ExpectationQueue expectations, MessageRef message, ReadOnlySpan<byte> batch)
    {
        switch (message.Code)
        {
            case FrontendCode.Parse:
                expectations.Enqueue(new(ExpectationKind.Parse));
                break;
            case FrontendCode.Bind:
                expectations.Enqueue(new(ExpectationKind.Bind));
                break;
            case FrontendCode.Describe:
                var kind = message.Length > 5 && batch[message.Offset + 5] == (byte)'S' ? ExpectationKind.DescribeStatement : ExpectationKind.DescribePortal;
                expectations.Enqueue(new(kind));
                break;
            case FrontendCode.Execute:
                expectations.Enqueue(new(ExpectationKind.Execute));
                break;
            case FrontendCode.Close:
                expectations.Enqueue(new(ExpectationKind.Close));
                break;
            case FrontendCode.Sync:
            case FrontendCode.Query:
            case FrontendCode.FunctionCall:
                expectations.Enqueue(new(ExpectationKind.Sync));
                break;
        }
    }

    private static string? RewriteParse(ReadOnlySpan<byte> body, ClientStatements client, PreparedStatementRegistry registry,
        ServerStatements server, ExpectationQueue expectations, int capacity, ref PooledWriter output)
    {
        var nameEnd = body.IndexOf((byte)0);
        if (nameEnd < 0)
        {
            return "invalid Parse message";
        }
        var name = body[..nameEnd];
        var tail = body[(nameEnd + 1)..];
        var statement = registry.GetOrAdd(tail);
        if (!client.TryAdd(name, statement))
        {
            client.RefusedName = System.Text.Encoding.UTF8.GetString(name);
            return "prepared statement name is already in use";
        }
        if (server.Touch(statement))
        {
            // Already on this server: nothing is sent, and the client gets its ParseComplete in turn.
            expectations.Enqueue(new(ExpectationKind.FakeParseComplete));
            return null;
        }
        Prepare(statement, server, expectations, capacity, ref output, ExpectationKind.Parse);
        return null;
    }

    private static string? RewriteBind(ReadOnlySpan<byte> body, ClientStatements client, ServerStatements server,
        ExpectationQueue expectations, int capacity, ref PooledWriter output)
    {
        var portalEnd = body.IndexOf((byte)0);
        var rest = body[(portalEnd + 1)..];
        var nameEnd = rest.IndexOf((byte)0);
        if (nameEnd < 0)
        {
            return "invalid Bind message";
        }
        if (!client.TryGet(rest[..nameEnd], out var statement))
        {
            return "prepared statement did not exist";
        }
        EnsurePrepared(statement, server, expectations, capacity, ref output);
        var parameters = rest[(nameEnd + 1)..];
        var portal = body[..(portalEnd + 1)];
        var len = sizeof(int) +                    // length
                  portal.Length +                  // portal name (with NUL)
                  statement.ServerName.Length +    // server statement name (with NUL)
                  parameters.Length;               // formats, values, result formats
        output.WriteByte(FrontendCode.Bind);
        output.WriteInt32(len);
        output.Write(portal);
        output.Write(statement.ServerName);
        output.Write(parameters);
        expectations.Enqueue(new(ExpectationKind.Bind));
        return null;
    }

    private static string? RewriteDescribe(ReadOnlySpan<byte> body, ClientStatements client, ServerStatements server,
        ExpectationQueue expectations, int capacity, ref PooledWriter output)
    {
        var nameEnd = body[1..].IndexOf((byte)0);
        if (nameEnd < 0)
        {
            return "invalid Describe message";
        }
        if (!client.TryGet(body.Slice(1, nameEnd), out var statement))
        {
            return "prepared statement did not exist";
        }
        EnsurePrepared(statement, server, expectations, capacity, ref output);
        output.WriteByte(FrontendCode.Describe);
        output.WriteInt32(sizeof(int) + 1 + statement.ServerName.Length);   // length, 'S', name with NUL
        output.WriteByte((byte)'S');
        output.Write(statement.ServerName);
        expectations.Enqueue(new(ExpectationKind.DescribeStatement));
        return null;
    }

    /// <summary>Close of a named statement only forgets the client's name: the server keeps it for others.</summary>
    private static string? CloseStatement(ReadOnlySpan<byte> body, ClientStatements client, ExpectationQueue expectations)
    {
        var nameEnd = body[1..].IndexOf((byte)0);
        if (nameEnd < 0)
        {
            return "invalid Close message";
        }
        client.Remove(body.Slice(1, nameEnd));
        expectations.Enqueue(new(ExpectationKind.FakeCloseComplete));
        return null;
    }

    private static void EnsurePrepared(PreparedStatement statement, ServerStatements server, ExpectationQueue expectations, int capacity, ref PooledWriter output)
    {
        if (!server.Touch(statement))
        {
            Prepare(statement, server, expectations, capacity, ref output, ExpectationKind.SwallowParseComplete);
        }
    }

    private static void Prepare(PreparedStatement statement, ServerStatements server, ExpectationQueue expectations, int capacity,
        ref PooledWriter output, ExpectationKind kind)
    {
        // Over max_prepared_statements (lowered at run time, it can be over by more than one): the least
        // recently used ones are closed on this server first.
        while (capacity > 0 && server.TakeOldestBeyond(capacity - 1) is { } old)
        {
            WriteEvictingClose(old, expectations, ref output);
        }
        if (server.Add(statement, capacity) is { } evicted)
        {
            WriteEvictingClose(evicted, expectations, ref output);
        }
        output.WriteByte(FrontendCode.Parse);
        output.WriteInt32(sizeof(int) + statement.ServerName.Length + statement.ParseTail.Length);   // length, name, query and types
        output.Write(statement.ServerName);
        output.Write(statement.ParseTail);
        expectations.Enqueue(new(kind, statement));
    }

    private static void WriteEvictingClose(PreparedStatement evicted, ExpectationQueue expectations, ref PooledWriter output)
    {
        output.WriteByte(FrontendCode.Close);
        output.WriteInt32(sizeof(int) + 1 + evicted.ServerName.Length);   // length, 'S', name with NUL
        output.WriteByte((byte)'S');
        output.Write(evicted.ServerName);
        expectations.Enqueue(new(ExpectationKind.SwallowCloseComplete));
    }

    /// <summary>Whether a complete P/B/D/C message names a statement (unnamed ones pass through untouched).</summary>
    public static bool NamesStatement(byte code, ReadOnlySpan<byte> body)
    {
        switch (code)
        {
            case FrontendCode.Parse:
                return body.Length > 0 && body[0] != 0;
            case FrontendCode.Bind:
            {
                var portalEnd = body.IndexOf((byte)0);
                return portalEnd >= 0 && portalEnd + 1 < body.Length && body[portalEnd + 1] != 0;
            }
            case FrontendCode.Describe:
            case FrontendCode.Close:
                return body.Length > 1 && body[0] == (byte)'S' && body[1] != 0;
            default:
                return false;
        }
    }

    /// <summary>Reads the int32 length of a message header.</summary>
    public static int LengthOf(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadInt32BigEndian(header[1..]);
}
