namespace Sluice.Protocol;

/// <summary>The int32 "protocol version" values that open a connection.</summary>
internal static class StartupCode
{
    public const int ProtocolV3 = 3 << 16;
    public const int CancelRequest = (1234 << 16) | 5678;
    public const int SslRequest = (1234 << 16) | 5679;
    public const int GssEncRequest = (1234 << 16) | 5680;

    /// <summary>A startup packet is small; anything larger is hostile or broken (PostgreSQL uses 10000).</summary>
    public const int MaxStartupPacketLength = 10_000;
}
