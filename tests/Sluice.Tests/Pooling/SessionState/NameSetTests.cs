namespace Sluice.Pooling.SessionState;

public sealed class NameSetTests
{
    [Fact]
    public void Empty_UntilTheFirstAdd_AndRemoveOrClearOnItAreHarmless()
    {
        var set = new NameSet();
        set.Remove("work_mem");
        set.Clear();
        Assert.Equal(0, set.Count);
        Assert.Equal("", set.Join(","));
    }

    [Fact]
    public void BehavesAsAnOrdinalSet()
    {
        var set = new NameSet();
        set.Add("jobs");
        set.Add("jobs");
        set.Add("Jobs");
        Assert.Equal(2, set.Count);
        set.Remove("jobs");
        Assert.Equal("Jobs", set.Join(","));
        set.Clear();
        Assert.Equal(0, set.Count);
    }
}
