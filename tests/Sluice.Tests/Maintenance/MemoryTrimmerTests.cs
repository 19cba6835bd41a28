using Microsoft.Extensions.Time.Testing;
using Sluice.Maintenance;
using Xunit;

namespace Sluice.Tests.Maintenance;

public class MemoryTrimmerTests
{
    private const long MiB = 1024 * 1024;

    private sealed class FakeGc : MemoryTrimmer.IGcAccess
    {
        public long TotalAllocatedBytes { get; set; }

        public long Committed { get; set; }

        public long Live { get; set; }

        public int Collections { get; private set; }

        public (long Committed, long Live) CommittedAndLiveBytes => (Committed, Live);

        public void CollectAndDecommit()
        {
            Collections++;
            Committed = Live;
        }
    }

    [Fact]
    public void AQuietProcessWithDeadCommittedMemory_IsTrimmedOnce()
    {
        var time = new FakeTimeProvider();
        var gc = new FakeGc { Committed = 60 * MiB, Live = 15 * MiB };
        var trimmer = new MemoryTrimmer(time, gc);

        trimmer.Tick();
        Assert.Equal(1, gc.Collections);

        time.Advance(TimeSpan.FromMinutes(1));
        trimmer.Tick();
        Assert.Equal(1, gc.Collections);   // committed is back to live: nothing to give back
    }

    [Fact]
    public void ABusyProcess_IsNotInterrupted()
    {
        var time = new FakeTimeProvider();
        var gc = new FakeGc { Committed = 60 * MiB, Live = 15 * MiB };
        var trimmer = new MemoryTrimmer(time, gc);

        for (var i = 0; i < 10; i++)
        {
            gc.TotalAllocatedBytes += MemoryTrimmer.QuietBytesPerTick;   // a login storm
            trimmer.Tick();
        }
        Assert.Equal(0, gc.Collections);

        trimmer.Tick();   // the storm is over
        Assert.Equal(1, gc.Collections);
    }

    [Fact]
    public void SlackBelowTheThresholds_IsLeftAlone()
    {
        var time = new FakeTimeProvider();
        var small = new FakeGc { Committed = 5 * MiB, Live = 2 * MiB };            // under MinimumSlackBytes
        var proportional = new FakeGc { Committed = 120 * MiB, Live = 100 * MiB };  // dead is under a quarter of live
        new MemoryTrimmer(time, small).Tick();
        new MemoryTrimmer(time, proportional).Tick();
        Assert.Equal(0, small.Collections);
        Assert.Equal(0, proportional.Collections);
    }

    [Fact]
    public void DeadAboveAQuarterOfLive_IsGivenBack()
    {
        // 10,000 idle clients: ~25 MiB live and ~13 MiB of login garbage; less dead than live, still worth a pause.
        var gc = new FakeGc { Committed = 38 * MiB, Live = 25 * MiB };
        new MemoryTrimmer(new FakeTimeProvider(), gc).Tick();
        Assert.Equal(1, gc.Collections);
    }

    [Fact]
    public void Trims_AreSpacedByTheMinimumInterval()
    {
        var time = new FakeTimeProvider();
        var gc = new FakeGc { Committed = 60 * MiB, Live = 15 * MiB };
        var trimmer = new MemoryTrimmer(time, gc);
        trimmer.Tick();

        gc.Committed = 60 * MiB;   // another burst left garbage behind
        time.Advance(MemoryTrimmer.MinimumInterval - TimeSpan.FromSeconds(1));
        trimmer.Tick();
        Assert.Equal(1, gc.Collections);

        time.Advance(TimeSpan.FromSeconds(1));
        trimmer.Tick();
        Assert.Equal(2, gc.Collections);
    }
}
