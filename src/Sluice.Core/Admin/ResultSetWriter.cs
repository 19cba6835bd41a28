using System.Globalization;
using System.Text;
using Sluice.Protocol;

namespace Sluice.Admin;

/// <summary>The only column types the console uses (pgbouncer.md §3.2), by PostgreSQL type OID.</summary>
internal enum AdminColumnType
{
    Bytea = 17,
    Int8 = 20,
    Int4 = 23,
    Text = 25,
    Numeric = 1700,
}

/// <summary>One column of a console result set.</summary>
internal readonly record struct AdminColumn(string Name, AdminColumnType Type)
{
    public static AdminColumn Text(string name) => new(name, AdminColumnType.Text);

    public static AdminColumn Int4(string name) => new(name, AdminColumnType.Int4);

    public static AdminColumn Int8(string name) => new(name, AdminColumnType.Int8);

    public static AdminColumn Numeric(string name) => new(name, AdminColumnType.Numeric);

    /// <summary>typlen as RowDescription states it: fixed-size integers give their width, the rest are varlena (-1).</summary>
    public short TypeLength => Type switch
    {
        AdminColumnType.Int4 => 4,
        AdminColumnType.Int8 => 8,
        _ => -1,
    };
}

/// <summary>
/// Writes one result set in text format: RowDescription, DataRows, CommandComplete. Each message states its
/// length field by field before it is written; <see cref="MessageBuilder.EndMessage"/> checks the count.
/// </summary>
internal sealed class ResultSetWriter
{
    private readonly MessageBuilder _b;
    private readonly AdminColumn[] _columns;
    private readonly byte[]?[] _cells;

    public ResultSetWriter(MessageBuilder b, IReadOnlyList<AdminColumn> columns)
    {
        _b = b;
        _columns = [.. columns];
        _cells = new byte[]?[_columns.Length];
        WriteRowDescription();
    }

    public int RowCount { get; private set; }

    public IReadOnlyList<AdminColumn> Columns => _columns;

    /// <summary>
    /// Writes a DataRow. Values: null (SQL NULL), string, or an integer / decimal, formatted invariantly.
    /// The count must match the columns.
    /// </summary>
    public void Row(params object?[] values)
    {
        if (values.Length != _columns.Length)
        {
            throw new ArgumentException($"row has {values.Length} values for {_columns.Length} columns", nameof(values));
        }
        var len = sizeof(short);   // column count
        for (var i = 0; i < values.Length; i++)
        {
            var cell = Format(values[i]);
            _cells[i] = cell;
            len += sizeof(int) +            // value length (-1 = NULL)
                   (cell?.Length ?? 0);     // value bytes
        }
        _b.StartMessage(BackendCode.DataRow, len);
        _b.WriteInt16((short)_cells.Length);
        foreach (var cell in _cells)
        {
            if (cell is null)
            {
                _b.WriteInt32(-1);
            }
            else
            {
                _b.WriteInt32(cell.Length);
                _b.WriteBytes(cell);
            }
        }
        _b.EndMessage();
        RowCount++;
    }

    /// <summary>CommandComplete; the console's SHOW commands all answer with the tag "SHOW", like PgBouncer.</summary>
    public void Complete(string tag = "SHOW") => AdminMessages.WriteCommandComplete(_b, tag);

    private void WriteRowDescription()
    {
        var len = sizeof(short);   // field count
        foreach (var column in _columns)
        {
            len += MessageBuilder.CStringLength(column.Name) +   // field name
                   sizeof(int) +                                 // table OID
                   sizeof(short) +                               // column attribute number
                   sizeof(int) +                                 // type OID
                   sizeof(short) +                               // type length
                   sizeof(int) +                                 // type modifier
                   sizeof(short);                                // format code
        }
        _b.StartMessage(BackendCode.RowDescription, len);
        _b.WriteInt16((short)_columns.Length);
        foreach (var column in _columns)
        {
            _b.WriteCString(column.Name);
            _b.WriteInt32(0);
            _b.WriteInt16(0);
            _b.WriteInt32((int)column.Type);
            _b.WriteInt16(column.TypeLength);
            _b.WriteInt32(-1);
            _b.WriteInt16(0);   // text
        }
        _b.EndMessage();
    }

    private static byte[]? Format(object? value) => value switch
    {
        null => null,
        string s => Encoding.UTF8.GetBytes(s),
        bool flag => Encoding.ASCII.GetBytes(flag ? "1" : "0"),
        IFormattable number => Encoding.ASCII.GetBytes(number.ToString(null, CultureInfo.InvariantCulture)),
        _ => Encoding.UTF8.GetBytes(value.ToString() ?? ""),
    };
}
