using System.Buffers.Binary;
using System.Text;

namespace Sluice.Testing.Wire;

/// <summary>One typed protocol message, either direction: its type byte and the body after the length field.</summary>
public sealed record PgMessage(char Type, byte[] Body)
{
    /// <summary>For 'R' messages: the authentication request code (0 = AuthenticationOk); -1 otherwise.</summary>
    public int AuthCode => Type == 'R' && Body.Length >= 4 ? BinaryPrimitives.ReadInt32BigEndian(Body) : -1;

    /// <summary>The body as a NUL-terminated string (Query text, CommandComplete tag).</summary>
    public string Text => PgWire.ReadCString(Body, 0, out _);

    /// <summary>Fields of an ErrorResponse / NoticeResponse body by field code ('S', 'V', 'C', 'M', ...).</summary>
    public IReadOnlyDictionary<char, string> Fields => Type is 'E' or 'N'
        ? PgWire.ParseErrorFields(Body)
        : throw new InvalidOperationException($"'{Type}' is not an ErrorResponse or NoticeResponse");

    /// <summary>One field of an ErrorResponse / NoticeResponse, or null.</summary>
    public string? Field(char code) => Fields.GetValueOrDefault(code);

    /// <summary>The SQLSTATE of an ErrorResponse, or null for any other message.</summary>
    public string? SqlState => Type == 'E' ? Field('C') : null;

    /// <summary>The values of a DataRow as text (null = SQL NULL); the columns must fill the body exactly.</summary>
    public List<string?> Values
    {
        get
        {
            Expect('D');
            var count = BinaryPrimitives.ReadInt16BigEndian(Body);
            var values = new List<string?>(count);
            var pos = 2;
            for (var i = 0; i < count; i++)
            {
                var length = BinaryPrimitives.ReadInt32BigEndian(Body.AsSpan(pos));
                pos += 4;
                if (length < 0)
                {
                    values.Add(null);
                    continue;
                }
                values.Add(Encoding.UTF8.GetString(Body, pos, length));
                pos += length;
            }
            ExpectConsumed(pos);
            return values;
        }
    }

    /// <summary>The columns of a RowDescription: name, type OID, type length; they must fill the body exactly.</summary>
    public List<(string Name, int TypeOid, short TypeLength)> Columns()
    {
        Expect('T');
        var count = BinaryPrimitives.ReadInt16BigEndian(Body);
        var pos = 2;
        var columns = new List<(string, int, short)>();
        for (var i = 0; i < count; i++)
        {
            var name = PgWire.ReadCString(Body, pos, out pos);
            pos += 4 + 2;   // table OID, attribute number
            var type = BinaryPrimitives.ReadInt32BigEndian(Body.AsSpan(pos));
            var typeLength = BinaryPrimitives.ReadInt16BigEndian(Body.AsSpan(pos + 4));
            pos += 4 + 2 + 4 + 2;   // type OID, type length, type modifier, format
            columns.Add((name, type, typeLength));
        }
        ExpectConsumed(pos);
        return columns;
    }

    /// <summary>Name and value of a ParameterStatus body.</summary>
    public (string Name, string Value) ParameterStatus()
    {
        var name = PgWire.ReadCString(Body, 0, out var next);
        return (name, PgWire.ReadCString(Body, next, out _));
    }

    /// <summary>The status byte of a ReadyForQuery.</summary>
    public char TransactionStatus => Type == 'Z' ? (char)Body[0] : throw new InvalidOperationException($"'{Type}' is not ReadyForQuery");

    public override string ToString()
    {
        try
        {
            return Describe();
        }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or InvalidDataException)
        {
            return $"{Type} (malformed, {Body.Length} bytes)";   // a hostile test's garbage must still print
        }
    }

    private string Describe() => Type switch
    {
        'Q' or 'C' => $"{Type} {Text}",
        'E' or 'N' => $"{Type} {string.Join(' ', Fields.Select(f => $"{f.Key}={f.Value}"))}",
        'S' => $"S {ParameterStatus().Name}={ParameterStatus().Value}",
        'Z' => $"Z {TransactionStatus}",
        'R' => $"R {AuthCode}",
        'D' => $"D({string.Join(",", Values)})",
        _ => $"{Type} ({Body.Length} bytes)",
    };

    private void Expect(char type)
    {
        if (Type != type)
        {
            throw new InvalidOperationException($"expected '{type}', got {this}");
        }
    }

    private void ExpectConsumed(int pos)
    {
        if (pos != Body.Length)
        {
            throw new InvalidDataException($"'{Type}' has {Body.Length} bytes but its fields take {pos}");
        }
    }
}
