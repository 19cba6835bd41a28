using Sluice.Testing.Admin;
using Sluice.Admin;
using Sluice.Testing.Wire;

namespace Sluice.Tests.Admin;

/// <summary>Every SHOW answers with PgBouncer 1.25's columns: names, order and type OIDs (pgbouncer.md §3.3).</summary>
public sealed class AdminShowColumnsTests
{
    public static TheoryData<string> Commands => new(ExpectedColumns.ByCommand.Keys.Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Commands))]
    public void RowDescription_MatchesReference(string command)
    {
        var pooler = AdminTestKit.NewPooler();

        var messages = AdminTestKit.Run(pooler, "SHOW " + command);

        var columns = messages[0].Columns();
        Assert.Equal(ExpectedColumns.Of(command), columns.Select(c => (c.Name, c.TypeOid)).ToArray());
        foreach (var (_, type, length) in columns)
        {
            Assert.Equal(type switch { 23 => 4, 20 => 8, _ => -1 }, length);
        }
        Assert.All(messages.Skip(1).SkipLast(1), m => Assert.Equal(columns.Count, m.Values.Count));
        Assert.Equal('C', messages[^1].Type);
        Assert.Equal("SHOW", messages[^1].Text);
    }

    [Fact]
    public void EveryShowSubject_IsCovered()
    {
        var expected = ExpectedColumns.ByCommand.Keys.Append("HELP").Order(StringComparer.Ordinal);
        Assert.Equal(expected, AdminCommands.Shows.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Stats_HasNo126LoginCountColumns()
    {
        foreach (var command in new[] { "STATS", "STATS_TOTALS", "STATS_AVERAGES" })
        {
            var columns = AdminTestKit.Run(AdminTestKit.NewPooler(), "SHOW " + command)[0].Columns();
            Assert.DoesNotContain(columns, c => c.Name.Contains("login_count", StringComparison.Ordinal));
        }
        Assert.Equal(23, ExpectedColumns.Of("STATS").Length);
    }

    [Fact]
    public void Totals_Lists22RowsInOrder()
    {
        var rows = AdminTestKit.Records(AdminTestKit.Run(AdminTestKit.NewPooler(), "SHOW TOTALS")).Select(r => r["name"]).ToList();

        Assert.Equal(22, rows.Count);
        Assert.Equal("total_server_assignment_count", rows[0]);
        Assert.Equal("total_client_bytes", rows[3]);
        Assert.Equal("total_ps_bind_count", rows[10]);
        Assert.Equal("avg_server_assignment_count", rows[11]);
        Assert.Equal("avg_ps_bind_count", rows[21]);
    }

    [Fact]
    public void Help_IsANoticeThenShow()
    {
        var messages = AdminTestKit.Run(AdminTestKit.NewPooler(), "SHOW HELP");

        Assert.Equal(['N', 'C'], messages.Select(m => m.Type));
        var fields = messages[0].Fields;
        Assert.Equal("NOTICE", fields['S']);
        Assert.Equal("00000", fields['C']);
        Assert.Equal("Console usage", fields['M']);
        Assert.Contains("SHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION", fields['D']);
    }

    [Theory]
    [InlineData("client_encoding", "UTF-8")]
    [InlineData("default_transaction_isolation", "read committed")]
    [InlineData("standard_conforming_strings", "on")]
    [InlineData("DateStyle", "ISO")]
    [InlineData("timezone", "GMT")]
    public void FakeParameters_AnswerOneTextColumn(string name, string value)
    {
        var messages = AdminTestKit.Run(AdminTestKit.NewPooler(), "SHOW " + name);

        Assert.Equal([(name.ToLowerInvariant(), 25, (short)-1)], messages[0].Columns());
        Assert.Equal([value], messages[1].Values);
    }
}
