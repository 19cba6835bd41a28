namespace Sluice.Pooling.Prepared;

/// <summary>What the server's read loop does with one reply, as the expected-reply queue decides.</summary>
internal enum ReplyAction
{
    /// <summary>Pass it on to the client.</summary>
    Forward,

    /// <summary>It answers a message Sluice injected (a re-prepare, a Close): the client never sees it.</summary>
    Swallow,

    /// <summary>Made-up replies are owed first (a Parse that was not sent): send them, then ask again.</summary>
    FakesFirst,
}
