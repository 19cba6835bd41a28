using Sluice.Transport;
using Xunit;

namespace Sluice.Tests.Transport;

public class ReadTurnsTests
{
    [Fact]
    public void APeerThatAlwaysHasData_YieldsEveryLimitReads()
    {
        var turns = new ReadTurns(5);
        var yields = new List<int>();
        for (var i = 1; i <= 15; i++)
        {
            if (turns.ShouldYield(foundDataWaiting: true))
            {
                yields.Add(i);
            }
        }
        Assert.Equal([5, 10, 15], yields);
    }

    [Fact]
    public void AWaitOrAnEmptyRead_StartsTheCountAgain()
    {
        var turns = new ReadTurns(3);
        Assert.False(turns.ShouldYield(true));
        Assert.False(turns.ShouldYield(true));
        turns.Waited();
        Assert.False(turns.ShouldYield(true));
        Assert.False(turns.ShouldYield(true));
        Assert.False(turns.ShouldYield(false));
        Assert.False(turns.ShouldYield(true));
        Assert.False(turns.ShouldYield(true));
        Assert.True(turns.ShouldYield(true));
    }

    [Fact]
    public void ZeroMeansNoLimit()
    {
        var turns = new ReadTurns(0);
        for (var i = 0; i < 1000; i++)
        {
            Assert.False(turns.ShouldYield(true));
        }
    }
}
