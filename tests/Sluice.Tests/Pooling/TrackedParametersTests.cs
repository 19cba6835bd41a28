namespace Sluice.Pooling;

public sealed class TrackedParametersTests
{
    [Fact]
    public void AlwaysTracked_InPgBouncerSpelling()
    {
        var tracked = new TrackedParameters([]);

        Assert.Equal(["client_encoding", "DateStyle", "TimeZone", "standard_conforming_strings", "application_name"], tracked.Names);
        Assert.Equal(5, tracked.Count);
    }

    [Theory]
    [InlineData("TimeZone", 2)]
    [InlineData("timezone", 2)]
    [InlineData("TIMEZONE", 2)]
    [InlineData("datestyle", 1)]
    [InlineData("CLIENT_ENCODING", 0)]
    [InlineData("Application_Name", 4)]
    [InlineData("search_path", -1)]
    [InlineData("", -1)]
    public void IndexOf_IsCaseInsensitive(string name, int expected)
    {
        Assert.Equal(expected, new TrackedParameters([]).IndexOf(name));
    }

    [Fact]
    public void Extras_AreAppendedInOrder_KeepingConfigSpelling()
    {
        var tracked = new TrackedParameters(["IntervalStyle", "search_path"]);

        Assert.Equal(7, tracked.Count);
        Assert.Equal("IntervalStyle", tracked.Names[5]);
        Assert.Equal("search_path", tracked.Names[6]);
        Assert.Equal(5, tracked.IndexOf("intervalstyle"));
        Assert.Equal(6, tracked.IndexOf("SEARCH_PATH"));
    }

    [Fact]
    public void Extras_DuplicatingAlwaysTracked_AreDropped()
    {
        var tracked = new TrackedParameters(["timezone", "DATESTYLE", "IntervalStyle"]);

        Assert.Equal(6, tracked.Count);
        Assert.Equal("TimeZone", tracked.Names[tracked.IndexOf("timezone")]);
        Assert.Equal("IntervalStyle", tracked.Names[5]);
    }

    [Fact]
    public void Extras_DuplicatingEachOther_FirstSpellingWins()
    {
        var tracked = new TrackedParameters(["IntervalStyle", "intervalstyle", "INTERVALSTYLE"]);

        Assert.Equal(6, tracked.Count);
        Assert.Equal("IntervalStyle", tracked.Names[5]);
    }

    [Fact]
    public void Extras_BlankOnes_AreIgnored()
    {
        var tracked = new TrackedParameters(["", "  ", "\t"]);

        Assert.Equal(5, tracked.Count);
    }

    [Fact]
    public void Extras_AreTrimmed_AndDedupedAfterTrimming()
    {
        var tracked = new TrackedParameters([" IntervalStyle ", "IntervalStyle", " TimeZone"]);

        Assert.Equal(["client_encoding", "DateStyle", "TimeZone", "standard_conforming_strings", "application_name", "IntervalStyle"], tracked.Names);
    }

    [Fact]
    public void NewValues_OneNullSlotPerName()
    {
        var tracked = new TrackedParameters(["IntervalStyle"]);
        var values = tracked.NewValues();

        Assert.Equal(tracked.Count, values.Length);
        Assert.All(values, Assert.Null);
        Assert.NotSame(values, tracked.NewValues());
    }
}
