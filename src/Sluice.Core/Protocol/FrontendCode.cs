namespace Sluice.Protocol;

/// <summary>Type bytes of messages a client sends (PostgreSQL protocol 3.0, "Message Formats").</summary>
internal static class FrontendCode
{
    public const byte Bind = (byte)'B';
    public const byte Close = (byte)'C';
    public const byte CopyData = (byte)'d';
    public const byte CopyDone = (byte)'c';
    public const byte CopyFail = (byte)'f';
    public const byte Describe = (byte)'D';
    public const byte Execute = (byte)'E';
    public const byte Flush = (byte)'H';
    public const byte FunctionCall = (byte)'F';
    public const byte Parse = (byte)'P';
    /// <summary>PasswordMessage, SASLInitialResponse and SASLResponse all share 'p'.</summary>
    public const byte Password = (byte)'p';
    public const byte Query = (byte)'Q';
    public const byte Sync = (byte)'S';
    public const byte Terminate = (byte)'X';
}
