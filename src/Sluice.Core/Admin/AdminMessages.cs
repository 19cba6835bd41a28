using Sluice.Protocol;

namespace Sluice.Admin;

/// <summary>Backend messages only the console writes, lengths stated field by field like <see cref="BackendMessages"/>.</summary>
internal static class AdminMessages
{
    public const string NoticeSeverity = "NOTICE";
    public const string SuccessfulCompletion = "00000";

    public static void WriteCommandComplete(MessageBuilder b, string tag)
    {
        b.StartMessage(BackendCode.CommandComplete, MessageBuilder.CStringLength(tag));   // command tag
        b.WriteCString(tag);
        b.EndMessage();
    }

    /// <summary>ErrorResponse severity ERROR (the console keeps the session open after it).</summary>
    public static void WriteError(MessageBuilder b, string sqlState, string message) =>
        BackendMessages.WriteError(b, "ERROR", sqlState, message);

    /// <summary>NoticeResponse severity NOTICE, SQLSTATE 00000, with an optional detail field (SHOW HELP puts the command list there).</summary>
    public static void WriteNotice(MessageBuilder b, string message, string? detail = null) =>
        BackendMessages.WriteError(b, NoticeSeverity, SuccessfulCompletion, message, notice: true, detail);

    /// <summary>
    /// The console's welcome (pgbouncer.md §3.1): AuthenticationOk, the fixed ParameterStatus set with
    /// <c>server_version=&lt;version&gt;/bouncer</c>, BackendKeyData and ReadyForQuery.
    /// </summary>
    public static void WriteWelcome(MessageBuilder b, int processId, int secretKey, string? applicationName)
    {
        b.WriteBytes(Pregenerated.AuthenticationOk);
        BackendMessages.WriteParameterStatus(b, "server_version", Hosting.Version.Text + "/bouncer");
        BackendMessages.WriteParameterStatus(b, "client_encoding", "UTF8");
        BackendMessages.WriteParameterStatus(b, "server_encoding", "UTF8");
        BackendMessages.WriteParameterStatus(b, "DateStyle", "ISO");
        BackendMessages.WriteParameterStatus(b, "TimeZone", "GMT");
        BackendMessages.WriteParameterStatus(b, "standard_conforming_strings", "on");
        BackendMessages.WriteParameterStatus(b, "is_superuser", "on");
        if (!string.IsNullOrEmpty(applicationName))
        {
            BackendMessages.WriteParameterStatus(b, "application_name", applicationName);
        }
        BackendMessages.WriteBackendKeyData(b, processId, secretKey);
        b.WriteBytes(Pregenerated.ReadyForQueryIdle);
    }
}
