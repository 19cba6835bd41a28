namespace Sluice.Protocol;

/// <summary>Constant messages encoded once, so the paths that send them build nothing.</summary>
internal static class Pregenerated
{
    public static readonly byte[] SslRefused = [(byte)'N'];
    public static readonly byte[] AuthenticationOk = Build(b => BackendMessages.WriteAuthentication(b, AuthRequest.Ok));
    public static readonly byte[] ReadyForQueryIdle = Build(b => BackendMessages.WriteReadyForQuery(b, TransactionStatus.Idle));
    public static readonly byte[] Terminate = Build(FrontendMessages.WriteTerminate);
    public static readonly byte[] SaslScramSha256 = BuildSaslMechanisms("SCRAM-SHA-256\0\0"u8);

    /// <summary>Over TLS: the channel-binding variant first, as PostgreSQL lists them.</summary>
    public static readonly byte[] SaslScramSha256Plus = BuildSaslMechanisms("SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"u8);

    private static byte[] BuildSaslMechanisms(ReadOnlySpan<byte> names)
    {
        var b = new MessageBuilder();
        // Each name NUL-terminated, then the empty string ending the list.
        BackendMessages.WriteAuthentication(b, AuthRequest.Sasl, names);
        return b.ToArray();
    }

    private static byte[] Build(Action<MessageBuilder> write)
    {
        var b = new MessageBuilder(16);
        write(b);
        return b.ToArray();
    }
}
