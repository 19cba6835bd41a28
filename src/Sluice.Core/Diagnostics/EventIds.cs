namespace Sluice.Diagnostics;

/// <summary>Stable event ids: never renumber, never reuse a retired one.</summary>
internal static class EventIds
{
    public const int Listening = 1;
    public const int ProcessUp = 2;
    public const int ShuttingDown = 3;
    public const int ConfigWarning = 4;
    public const int ListenFailed = 5;
    public const int Stats = 6;

    public const int ClientLogin = 100;
    public const int ClientClosing = 101;
    public const int PoolerError = 102;
    public const int ClientLoginAttempt = 103;

    public const int ServerLogin = 200;
    public const int ServerClosing = 201;
    public const int ServerConnectFailed = 202;
    public const int ServerNewConnection = 203;

    public const int CancelForwarded = 300;
    public const int CancelDropped = 301;
    public const int UnexpectedError = 900;
}
