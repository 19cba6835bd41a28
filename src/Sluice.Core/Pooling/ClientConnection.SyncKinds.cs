using Sluice.Protocol;

namespace Sluice.Pooling;

/// <summary>The kinds of the current batch's Sync, Query/FunctionCall and CopyDone/CopyFail messages, in order (see <see cref="SyncKindQueue"/>).</summary>
internal sealed partial class ClientConnection
{
    private byte[]? _batchKinds;   // made on the first batch that has one; reused for the connection's life
    private int _batchKindCount;

    /// <summary>What the server's <see cref="SyncKindQueue"/> must record for the batch being forwarded.</summary>
    internal ReadOnlySpan<byte> BatchKinds => _batchKinds.AsSpan(0, _batchKindCount);

    private void NoteBatchKind(byte code)
    {
        var kind = code switch
        {
            FrontendCode.Sync => SyncKindQueue.Sync,
            FrontendCode.Query or FrontendCode.FunctionCall => SyncKindQueue.Query,
            FrontendCode.CopyDone or FrontendCode.CopyFail => SyncKindQueue.CopyEnd,
            _ => (byte)0,
        };
        if (kind == 0)
        {
            return;
        }
        if (_batchKinds is null || _batchKindCount == _batchKinds.Length)
        {
            Array.Resize(ref _batchKinds, Math.Max(4, _batchKindCount * 2));
        }
        _batchKinds[_batchKindCount++] = kind;
    }
}
