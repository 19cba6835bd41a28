namespace Sluice.Maintenance;

/// <summary>
/// Gives memory back after a burst. A login storm allocates a few KiB per login; the GC then keeps its
/// enlarged budget committed long after the burst, because a pooler at rest allocates nothing and so never
/// collects again: 10,000 idle clients held ~45 MiB of committed but dead heap next to ~15 MiB of live
/// objects. PgBouncer's malloc/free returns such memory at once. Here the janitor asks for one aggressive
/// (decommitting) collection when the process has gone quiet and committed memory is well above what is live:
/// by 4 MiB and by a quarter of the live heap. (Asking for as much dead as live missed the slack of a thriftier
/// login path: 10,000 idle clients kept 3.6 instead of 2.4 KiB each.)
/// Forwarding allocates nothing, so "quiet" means no logins or admin commands, not no traffic; the collection
/// is one pause of a few milliseconds, and it cannot repeat until memory has grown again.
/// </summary>
internal sealed class MemoryTrimmer(TimeProvider time, MemoryTrimmer.IGcAccess gc)
{
    /// <summary>Less allocated than this between two janitor ticks counts as quiet.</summary>
    public const long QuietBytesPerTick = 256 * 1024;

    /// <summary>Dead committed memory worth a collection (1,000 logins leave ~12 MB): below this the pause buys too little.</summary>
    public const long MinimumSlackBytes = 4 * 1024 * 1024;

    public static readonly TimeSpan MinimumInterval = TimeSpan.FromSeconds(10);

    private long _lastAllocated = gc.TotalAllocatedBytes;
    private long _lastTrim;

    public int Trims { get; private set; }

    public void Tick()
    {
        var allocated = gc.TotalAllocatedBytes;
        var sinceLastTick = allocated - _lastAllocated;
        _lastAllocated = allocated;
        if (sinceLastTick >= QuietBytesPerTick)
        {
            return;
        }
        var now = time.GetTimestamp();
        if (_lastTrim != 0 && time.GetElapsedTime(_lastTrim, now) < MinimumInterval)
        {
            return;
        }
        var (committed, live) = gc.CommittedAndLiveBytes;
        if (committed - live < Math.Max(MinimumSlackBytes, live / 4))
        {
            return;
        }
        _lastTrim = now;
        Trims++;
        gc.CollectAndDecommit();
        _lastAllocated = gc.TotalAllocatedBytes;
    }

    /// <summary>The GC as the trimmer sees it; tests substitute a fake.</summary>
    internal interface IGcAccess
    {
        long TotalAllocatedBytes { get; }

        (long Committed, long Live) CommittedAndLiveBytes { get; }

        void CollectAndDecommit();
    }

    internal sealed class RuntimeGc : IGcAccess
    {
        public static readonly RuntimeGc Instance = new();

        public long TotalAllocatedBytes => GC.GetTotalAllocatedBytes(precise: false);

        public (long Committed, long Live) CommittedAndLiveBytes
        {
            get
            {
                // Both figures are the last collection's, which may predate the whole burst: a login storm whose
                // survivors raise the gen0 budget can run without one. What was allocated since then is in the
                // heap too (GetTotalMemory counts it), so it counts as committed, and as dead until a GC says not.
                var info = GC.GetGCMemoryInfo();
                return (Math.Max(info.TotalCommittedBytes, GC.GetTotalMemory(forceFullCollection: false)), info.HeapSizeBytes);
            }
        }

        public void CollectAndDecommit() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
