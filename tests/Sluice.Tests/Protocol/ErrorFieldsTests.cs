using System.Text;

namespace Sluice.Protocol;

public sealed class ErrorFieldsTests
{
    /// <summary>Fields as (code, text) pairs, then the terminating NUL.</summary>
    private static byte[] Body(params (char Field, string Text)[] fields)
    {
        var list = new List<byte>();
        foreach (var (field, text) in fields)
        {
            list.Add((byte)field);
            list.AddRange(Encoding.UTF8.GetBytes(text));
            list.Add(0);
        }
        list.Add(0);
        return [.. list];
    }

    [Fact]
    public void Parse_TypicalServerError()
    {
        var body = Body(('S', "FATAL"), ('V', "FATAL"), ('C', "3D000"), ('M', "database \"nope\" does not exist"),
            ('F', "postinit.c"), ('L', "1032"), ('R', "InitPostgres"));

        Assert.Equal(new ErrorFields("FATAL", "3D000", "database \"nope\" does not exist"), ErrorFields.Parse(body));
    }

    [Fact]
    public void Parse_LocalizedSeverity_NonLocalizedWins()
    {
        var body = Body(('S', "FATAL"), ('V', "FATAL"), ('C', "28P01"), ('M', "m"));
        Assert.Equal("FATAL", ErrorFields.Parse(body).Severity);

        var german = Body(('S', "FEHLER"), ('V', "ERROR"), ('C', "42601"), ('M', "Syntaxfehler"));
        Assert.Equal("ERROR", ErrorFields.Parse(german).Severity);
    }

    [Fact]
    public void Parse_NonLocalizedSeverityFirst_StillWins()
    {
        // The protocol does not order the fields; V is the authoritative severity wherever it appears.
        var body = Body(('V', "ERROR"), ('S', "FEHLER"), ('C', "42601"), ('M', "m"));

        Assert.Equal("ERROR", ErrorFields.Parse(body).Severity);
    }

    [Fact]
    public void Parse_OnlyLocalizedSeverity_PreV96Server()
    {
        var body = Body(('S', "PANIC"), ('C', "XX000"), ('M', "m"));

        Assert.Equal("PANIC", ErrorFields.Parse(body).Severity);
    }

    [Fact]
    public void Parse_Empty_Defaults()
    {
        Assert.Equal(new ErrorFields("ERROR", "", ""), ErrorFields.Parse([]));
        Assert.Equal(new ErrorFields("ERROR", "", ""), ErrorFields.Parse([0]));
    }

    [Fact]
    public void Parse_UnterminatedField_StopsWithoutThrowing()
    {
        byte[] body = [(byte)'C', .. "57014"u8, 0, (byte)'M', .. "cut off"u8];

        Assert.Equal(new ErrorFields("ERROR", "57014", ""), ErrorFields.Parse(body));
    }

    [Fact]
    public void Parse_StopsAtTerminator()
    {
        byte[] body = [(byte)'C', .. "57014"u8, 0, 0, (byte)'M', .. "after end"u8, 0, 0];

        Assert.Equal("", ErrorFields.Parse(body).Message);
    }

    [Fact]
    public void Parse_Utf8Message()
    {
        Assert.Equal("ünïcödé ✓", ErrorFields.Parse(Body(('M', "ünïcödé ✓"))).Message);
    }

    [Fact]
    public void Parse_RoundTripsBackendMessagesWriteError()
    {
        var b = new MessageBuilder();
        BackendMessages.WriteError(b, "FATAL", "08006", "server conn crashed?");

        Assert.Equal(new ErrorFields("FATAL", "08006", "server conn crashed?"), ErrorFields.Parse(b.ToArray().AsSpan(5)));
    }
}
