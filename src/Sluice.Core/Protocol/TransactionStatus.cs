namespace Sluice.Protocol;

/// <summary>The status byte of ReadyForQuery; the values are the wire bytes.</summary>
internal enum TransactionStatus : byte
{
    /// <summary>Not in a transaction block: in transaction pooling the server may be released.</summary>
    Idle = (byte)'I',
    /// <summary>Inside a transaction block: the server stays with its client.</summary>
    InTransaction = (byte)'T',
    /// <summary>Inside a failed transaction block: still the client's until ROLLBACK.</summary>
    Failed = (byte)'E',
}
