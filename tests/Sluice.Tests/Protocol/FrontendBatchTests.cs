using Sluice.Protocol;
using Xunit;

namespace Sluice.Tests.Protocol;

public class FrontendBatchTests
{
    private static (int Syncs, bool UnsyncedTail) Scan(string codes)
    {
        var syncs = 0;
        var unsyncedTail = false;
        foreach (var code in codes)
        {
            FrontendBatch.Observe((byte)code, ref syncs, ref unsyncedTail);
        }
        return (syncs, unsyncedTail);
    }

    [Theory]
    [InlineData("Q", 1, false)]
    [InlineData("PBDES", 1, false)]
    [InlineData("PBDESPBDES", 2, false)]
    [InlineData("PBDESPBE", 1, true)]
    [InlineData("PBDEH", 0, true)]
    [InlineData("F", 1, false)]
    [InlineData("dc", 0, false)]   // COPY data and done do not end a batch
    public void CountsReadyForQueriesAndAnUnsyncedTail(string codes, int syncs, bool unsyncedTail) =>
        Assert.Equal((syncs, unsyncedTail), Scan(codes));
}
