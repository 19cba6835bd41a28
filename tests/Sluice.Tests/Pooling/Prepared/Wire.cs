using System.Buffers.Binary;
using System.Text;
using Sluice.Protocol;

namespace Sluice.Pooling.Prepared;

/// <summary>Builds frontend messages byte by byte for the prepared-statement unit tests.</summary>
internal static class Wire
{
    public static byte[] Message(byte code, params byte[][] parts)
    {
        var bodyLength = parts.Sum(p => p.Length);
        var message = new byte[5 + bodyLength];
        message[0] = code;
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 4 + bodyLength);
        var pos = 5;
        foreach (var part in parts)
        {
            part.CopyTo(message, pos);
            pos += part.Length;
        }
        return message;
    }

    public static byte[] CString(string s) => [.. Encoding.UTF8.GetBytes(s), 0];

    public static byte[] Int16(short v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteInt16BigEndian(b, v);
        return b;
    }

    public static byte[] Int32(int v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, v);
        return b;
    }

    /// <summary>The Parse body after the statement name: query, parameter count, type OIDs.</summary>
    public static byte[] ParseTail(string query, params int[] oids) =>
        [.. CString(query), .. Int16((short)oids.Length), .. oids.SelectMany(Int32)];

    public static byte[] Parse(string name, string query, params int[] oids) =>
        Message(FrontendCode.Parse, CString(name), ParseTail(query, oids));

    /// <summary>Bind with text parameters and no format codes.</summary>
    public static byte[] Bind(string portal, string statement, params string?[] values)
    {
        var parts = new List<byte[]> { CString(portal), CString(statement), Int16(0), Int16((short)values.Length) };
        foreach (var v in values)
        {
            if (v is null)
            {
                parts.Add(Int32(-1));
            }
            else
            {
                var bytes = Encoding.UTF8.GetBytes(v);
                parts.Add(Int32(bytes.Length));
                parts.Add(bytes);
            }
        }
        parts.Add(Int16(0));
        return Message(FrontendCode.Bind, [.. parts]);
    }

    public static byte[] Describe(char kind, string name) => Message(FrontendCode.Describe, [(byte)kind], CString(name));

    public static byte[] Close(char kind, string name) => Message(FrontendCode.Close, [(byte)kind], CString(name));

    public static byte[] Execute(string portal = "", int maxRows = 0) => Message(FrontendCode.Execute, CString(portal), Int32(maxRows));

    public static byte[] Sync() => Message(FrontendCode.Sync);

    public static byte[] Flush() => Message(FrontendCode.Flush);

    public static byte[] Query(string sql) => Message(FrontendCode.Query, CString(sql));

    public static byte[] Concat(params byte[][] messages) => [.. messages.SelectMany(m => m)];

    /// <summary>The message references the client loop would build for a batch (with the same Named rule).</summary>
    public static MessageRef[] Refs(byte[] batch, out bool anyNamed)
    {
        var refs = new List<MessageRef>();
        anyNamed = false;
        var pos = 0;
        while (pos < batch.Length)
        {
            var code = batch[pos];
            var length = 1 + BinaryPrimitives.ReadInt32BigEndian(batch.AsSpan(pos + 1));
            var statementMessage = code is FrontendCode.Parse or FrontendCode.Bind or FrontendCode.Describe or FrontendCode.Close;
            var named = statementMessage && BatchRewriter.NamesStatement(code, batch.AsSpan(pos + 5, length - 5));
            refs.Add(new MessageRef(pos, length, code, named));
            anyNamed |= named;
            pos += length;
        }
        return [.. refs];
    }

    /// <summary>Renders a byte stream of messages as "P(SLUICE_1|SELECT 1) B(|SLUICE_1) E S" for readable failures.</summary>
    public static string Render(ReadOnlySpan<byte> bytes)
    {
        var parts = new List<string>();
        var pos = 0;
        while (pos + 5 <= bytes.Length)
        {
            var code = (char)bytes[pos];
            var length = 1 + BinaryPrimitives.ReadInt32BigEndian(bytes[(pos + 1)..]);
            var body = bytes.Slice(pos + 5, Math.Min(length, bytes.Length - pos) - 5);
            var strings = Encoding.UTF8.GetString(body).Split('\0');
            parts.Add(code switch
            {
                'P' => $"P({strings[0]}|{strings[1]})",
                'B' => $"B({strings[0]}|{strings[1]})",
                'D' or 'C' => $"{code}({(char)body[0]}{strings[0][1..]})",
                _ => code.ToString(),
            });
            pos += length;
        }
        return string.Join(' ', parts);
    }
}
