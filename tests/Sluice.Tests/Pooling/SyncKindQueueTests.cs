using Sluice.Pooling;

namespace Sluice.Tests.Pooling;

/// <summary>Which Syncs still wait for a ReadyForQuery after a COPY FROM STDIN ends (PostgreSQL drops those read during the copy).</summary>
public sealed class SyncKindQueueTests
{
    private const byte S = SyncKindQueue.Sync;
    private const byte Q = SyncKindQueue.Query;
    private const byte C = SyncKindQueue.CopyEnd;

    private static SyncKindQueue Of(params byte[] kinds)
    {
        var queue = new SyncKindQueue();
        foreach (var kind in kinds)
        {
            queue.Push(kind);
        }
        return queue;
    }

    /// <summary>How many ReadyForQuery messages it takes to empty the queue (each also clears the marks before it).</summary>
    private static int AnswersLeft(SyncKindQueue queue)
    {
        var answers = 0;
        while (queue.Peek() != 0)
        {
            queue.PopAnswered();
            answers++;
        }
        return answers;
    }

    [Fact]
    public void ExtendedCopy_SyncBeforeCopyDone_IsDropped_SyncAfterIsKept()
    {
        var queue = Of(S, C, S);   // Execute COPY + Sync, CopyData, CopyDone, Sync

        Assert.Equal(1, queue.DropSyncsSentDuringCopy(keepHead: false));

        Assert.Equal(S, queue.Peek());
        Assert.Equal(1, AnswersLeft(queue));
    }

    [Fact]
    public void ErrorBeforeCopyDone_DropsTheSyncsSentSoFar()
    {
        var queue = Of(S);

        Assert.Equal(1, queue.DropSyncsSentDuringCopy(keepHead: false));
        queue.Push(C);   // the client's CopyDone and Sync arrive later
        queue.Push(S);

        Assert.Equal(1, AnswersLeft(queue));   // the mark goes with the Sync's answer
    }

    [Fact]
    public void SimpleQueryCopy_KeepsTheQueryThatStartedIt()
    {
        var queue = Of(Q, C, Q);

        Assert.Equal(0, queue.DropSyncsSentDuringCopy(keepHead: true));

        Assert.Equal(Q, queue.Peek());
        Assert.Equal(2, AnswersLeft(queue));
    }

    [Fact]
    public void Queue_GrowsAndKeepsOrder()
    {
        var queue = new SyncKindQueue();
        for (var i = 0; i < 100; i++)
        {
            queue.Push(i % 2 == 0 ? S : Q);
            if (i % 3 == 0)
            {
                queue.PopAnswered();
            }
        }
        Assert.Equal(100 - 34, AnswersLeft(queue));
    }
}
