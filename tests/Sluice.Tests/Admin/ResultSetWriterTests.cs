using Sluice.Admin;
using Sluice.Protocol;
using Sluice.Testing.Wire;

namespace Sluice.Tests.Admin;

public sealed class ResultSetWriterTests
{
    [Fact]
    public void WritesDescriptionRowsWithNullsAndTag()
    {
        var b = new MessageBuilder(8);
        var writer = new ResultSetWriter(b, [AdminColumn.Text("name"), AdminColumn.Int4("n"), AdminColumn.Int8("big"), AdminColumn.Numeric("num")]);
        writer.Row("é", 42, 1L << 40, null);
        writer.Row(null, -1, 0L, 123456789012345L);
        writer.Complete();

        var messages = AdminTestKit.Decode(b.ToArray());

        Assert.Equal(['T', 'D', 'D', 'C'], messages.Select(m => m.Type));
        Assert.Equal([("name", 25, (short)-1), ("n", 23, (short)4), ("big", 20, (short)8), ("num", 1700, (short)-1)], messages[0].Columns());
        Assert.Equal(["é", "42", "1099511627776", null], messages[1].Values);
        Assert.Equal([null, "-1", "0", "123456789012345"], messages[2].Values);
        Assert.Equal("SHOW", messages[3].Text);
    }

    [Fact]
    public void RowWithWrongWidth_Throws()
    {
        var writer = new ResultSetWriter(new MessageBuilder(), [AdminColumn.Text("a")]);
        Assert.Throws<ArgumentException>(() => writer.Row("x", "y"));
    }

    [Fact]
    public void Welcome_CarriesTheConsoleParameters()
    {
        var b = new MessageBuilder();
        AdminMessages.WriteWelcome(b, 11, 22, null);

        var messages = AdminTestKit.Decode(b.ToArray());

        Assert.Equal('R', messages[0].Type);
        var parameters = messages.Where(m => m.Type == 'S').Select(m =>
        {
            var parts = System.Text.Encoding.UTF8.GetString(m.Body).Split('\0');
            return (parts[0], parts[1]);
        }).ToDictionary();
        Assert.Equal(Sluice.Hosting.Version.Text + "/bouncer", parameters["server_version"]);
        Assert.Equal("UTF8", parameters["client_encoding"]);
        Assert.Equal("UTF8", parameters["server_encoding"]);
        Assert.Equal("ISO", parameters["DateStyle"]);
        Assert.Equal("GMT", parameters["TimeZone"]);
        Assert.Equal("on", parameters["standard_conforming_strings"]);
        Assert.Equal("on", parameters["is_superuser"]);
        Assert.Equal('K', messages[^2].Type);
        Assert.Equal('Z', messages[^1].Type);
        Assert.Equal((byte)'I', messages[^1].Body[0]);
    }
}
