namespace Sluice.Pooling.Prepared;

/// <summary>What the next reply of a server is for, in request order.</summary>
internal enum ExpectationKind : byte
{
    /// <summary>A client's Parse: ParseComplete is forwarded.</summary>
    Parse,
    Bind,
    /// <summary>Describe of a statement: ParameterDescription then RowDescription or NoData.</summary>
    DescribeStatement,
    DescribePortal,
    Execute,
    Close,
    /// <summary>Sync, Query or FunctionCall: ends with ReadyForQuery.</summary>
    Sync,
    /// <summary>A Parse Sluice injected because this server lacked the statement: its ParseComplete is dropped.</summary>
    SwallowParseComplete,
    /// <summary>A Close Sluice injected to evict a statement: its CloseComplete is dropped.</summary>
    SwallowCloseComplete,
    /// <summary>The client's Parse was not sent (the server had it): a ParseComplete is made up here.</summary>
    FakeParseComplete,
    /// <summary>The client's Close of a statement was not sent: a CloseComplete is made up here.</summary>
    FakeCloseComplete,
}

/// <summary>One expected reply; <see cref="Statement"/> is set when a failed Parse must be forgotten.</summary>
internal readonly record struct Expectation(ExpectationKind Kind, PreparedStatement? Statement = null)
{
    public bool IsFake => Kind is ExpectationKind.FakeParseComplete or ExpectationKind.FakeCloseComplete;
}
