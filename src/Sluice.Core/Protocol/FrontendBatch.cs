using System.Runtime.CompilerServices;

namespace Sluice.Protocol;

/// <summary>How a batch of frontend messages ends: how many ReadyForQuery it will earn, and whether extended-protocol messages follow the last of them.</summary>
internal static class FrontendBatch
{
    /// <summary>
    /// Counts one message: Query, Sync and FunctionCall each earn a ReadyForQuery; Parse, Bind, Describe, Execute,
    /// Close and Flush after the last of those leave the batch unsynced (a server that must stay with the client).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Observe(byte code, ref int syncs, ref bool unsyncedTail)
    {
        switch (code)
        {
            case FrontendCode.Query:
            case FrontendCode.Sync:
            case FrontendCode.FunctionCall:
                syncs++;
                unsyncedTail = false;
                break;
            case FrontendCode.Parse:
            case FrontendCode.Bind:
            case FrontendCode.Describe:
            case FrontendCode.Execute:
            case FrontendCode.Close:
            case FrontendCode.Flush:
                unsyncedTail = true;
                break;
        }
    }
}
