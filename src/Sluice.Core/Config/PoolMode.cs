namespace Sluice.Config;

/// <summary>When a server connection goes back to the pool (ini values <c>session</c>, <c>transaction</c>, <c>statement</c>).</summary>
public enum PoolMode
{
    /// <summary>Released when the client disconnects.</summary>
    Session,

    /// <summary>Released when a transaction ends.</summary>
    Transaction,

    /// <summary>Released after every statement; multi-statement transactions are refused.</summary>
    Statement,
}
