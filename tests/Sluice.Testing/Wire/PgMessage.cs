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
    public IReadOnlyDictionary<char, string> Fields => PgWire.ParseErrorFields(Body);

    /// <summary>One field of an ErrorResponse / NoticeResponse, or null.</summary>
    public string? Field(char code) => Fields.GetValueOrDefault(code);

    /// <summary>The SQLSTATE of an ErrorResponse, or null for any other message.</summary>
    public string? SqlState => Type == 'E' ? Field('C') : null;

    /// <summary>The values of a DataRow as text (null = SQL NULL).</summary>
    public string?[] Values => [.. PgWire.ParseDataRow(Body).Select(v => v is null ? null : Encoding.UTF8.GetString(v))];

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
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException)
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
}
