using System.Buffers.Binary;
using System.Text;

namespace Sluice.Benchmarks;

/// <summary>Builds PostgreSQL wire messages for the benchmarks (setup only: allocation here is never measured).</summary>
internal static class Wire
{
    public static byte[] Message(char code, ReadOnlySpan<byte> body)
    {
        var message = new byte[5 + body.Length];
        message[0] = (byte)code;
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 4 + body.Length);
        body.CopyTo(message.AsSpan(5));
        return message;
    }

    public static byte[] CString(string s) => [.. Encoding.UTF8.GetBytes(s), 0];

    public static byte[] Concat(params byte[][] parts)
    {
        var total = 0;
        foreach (var p in parts)
        {
            total += p.Length;
        }
        var result = new byte[total];
        var at = 0;
        foreach (var p in parts)
        {
            p.CopyTo(result, at);
            at += p.Length;
        }
        return result;
    }

    public static byte[] Int16(int v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteInt16BigEndian(b, (short)v);
        return b;
    }

    public static byte[] Int32(int v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, v);
        return b;
    }

    // ---------------------------------------------------------------- frontend

    public static byte[] Startup(params (string Name, string Value)[] parameters)
    {
        var body = new List<byte>();
        body.AddRange(Int32(196608));
        foreach (var (name, value) in parameters)
        {
            body.AddRange(CString(name));
            body.AddRange(CString(value));
        }
        body.Add(0);
        return [.. Int32(4 + body.Count), .. body];
    }

    public static byte[] Query(string sql) => Message('Q', CString(sql));

    public static byte[] Parse(string name, string sql, params int[] types) =>
        Message('P', Concat(CString(name), CString(sql), Int16(types.Length), Concat([.. types.Select(Int32)])));

    /// <summary>Bind of <paramref name="statement"/> with text parameters, text results.</summary>
    public static byte[] Bind(string portal, string statement, params string[] values)
    {
        var parts = new List<byte[]> { CString(portal), CString(statement), Int16(0), Int16(values.Length) };
        foreach (var v in values)
        {
            var bytes = Encoding.UTF8.GetBytes(v);
            parts.Add(Int32(bytes.Length));
            parts.Add(bytes);
        }
        parts.Add(Int16(0));
        return Message('B', Concat([.. parts]));
    }

    public static byte[] DescribePortal(string portal = "") => Message('D', Concat([(byte)'P'], CString(portal)));

    public static byte[] Execute(string portal = "", int maxRows = 0) => Message('E', Concat(CString(portal), Int32(maxRows)));

    public static byte[] Sync() => Message('S', []);

    public static byte[] Terminate() => Message('X', []);

    // ---------------------------------------------------------------- backend

    public static byte[] AuthenticationOk() => Message('R', Int32(0));

    public static byte[] ParameterStatus(string name, string value) => Message('S', Concat(CString(name), CString(value)));

    public static byte[] BackendKeyData(int pid, int key) => Message('K', Concat(Int32(pid), Int32(key)));

    public static byte[] ReadyForQuery(char status = 'I') => Message('Z', [(byte)status]);

    /// <summary>RowDescription of int4 text-format columns.</summary>
    public static byte[] RowDescription(params string[] columns)
    {
        var parts = new List<byte[]> { Int16(columns.Length) };
        foreach (var c in columns)
        {
            parts.Add(CString(c));
            parts.Add(Int32(16384));   // table oid
            parts.Add(Int16(1));       // column number
            parts.Add(Int32(23));      // int4
            parts.Add(Int16(4));
            parts.Add(Int32(-1));
            parts.Add(Int16(0));       // text
        }
        return Message('T', Concat([.. parts]));
    }

    public static byte[] DataRow(params string[] values)
    {
        var parts = new List<byte[]> { Int16(values.Length) };
        foreach (var v in values)
        {
            var bytes = Encoding.UTF8.GetBytes(v);
            parts.Add(Int32(bytes.Length));
            parts.Add(bytes);
        }
        return Message('D', Concat([.. parts]));
    }

    public static byte[] CommandComplete(string tag) => Message('C', CString(tag));

    public static byte[] ParseComplete() => Message('1', []);

    public static byte[] BindComplete() => Message('2', []);

    public static byte[] NoData() => Message('n', []);
}
