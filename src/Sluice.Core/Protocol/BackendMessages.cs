namespace Sluice.Protocol;

/// <summary>Writers for the backend messages Sluice generates itself, with lengths stated field by field.</summary>
internal static class BackendMessages
{
    public static void WriteAuthentication(MessageBuilder b, AuthRequest request, ReadOnlySpan<byte> data = default)
    {
        var len = sizeof(int) +   // request subtype
                  data.Length;     // salt, SASL mechanisms or SASL data
        b.StartMessage(BackendCode.Authentication, len);
        b.WriteInt32((int)request);
        b.WriteBytes(data);
        b.EndMessage();
    }

    public static void WriteParameterStatus(MessageBuilder b, string name, string value)
    {
        var len = MessageBuilder.CStringLength(name) +   // parameter name
                  MessageBuilder.CStringLength(value);   // parameter value
        b.StartMessage(BackendCode.ParameterStatus, len);
        b.WriteCString(name);
        b.WriteCString(value);
        b.EndMessage();
    }

    public static void WriteBackendKeyData(MessageBuilder b, int processId, int secretKey)
    {
        var len = sizeof(int) +   // process id
                  sizeof(int);    // secret key
        b.StartMessage(BackendCode.BackendKeyData, len);
        b.WriteInt32(processId);
        b.WriteInt32(secretKey);
        b.EndMessage();
    }

    public static void WriteReadyForQuery(MessageBuilder b, TransactionStatus status)
    {
        b.StartMessage(BackendCode.ReadyForQuery, sizeof(byte));
        b.WriteByte((byte)status);
        b.EndMessage();
    }

    /// <summary>ErrorResponse or NoticeResponse with the three fields PgBouncer sends: S, C, M (plus V, which libpq reads).</summary>
    public static void WriteError(MessageBuilder b, string severity, string sqlState, string message, bool notice = false, string? detail = null)
    {
        var len = 1 + MessageBuilder.CStringLength(severity) +   // 'S' localized severity
                  1 + MessageBuilder.CStringLength(severity) +   // 'V' non-localized severity
                  1 + MessageBuilder.CStringLength(sqlState) +   // 'C' SQLSTATE
                  1 + MessageBuilder.CStringLength(message) +    // 'M' message
                  (detail is null ? 0 : 1 + MessageBuilder.CStringLength(detail)) +   // 'D' detail
                  1;                                              // terminator
        b.StartMessage(notice ? BackendCode.NoticeResponse : BackendCode.ErrorResponse, len);
        b.WriteByte((byte)'S');
        b.WriteCString(severity);
        b.WriteByte((byte)'V');
        b.WriteCString(severity);
        b.WriteByte((byte)'C');
        b.WriteCString(sqlState);
        b.WriteByte((byte)'M');
        b.WriteCString(message);
        if (detail is not null)
        {
            b.WriteByte((byte)'D');
            b.WriteCString(detail);
        }
        b.WriteByte(0);
        b.EndMessage();
    }

    public static void WriteNegotiateProtocolVersion(MessageBuilder b, int newestMinor, IReadOnlyList<string> unsupported)
    {
        var len = sizeof(int) + sizeof(int);   // newest minor version, count of unsupported options
        foreach (var name in unsupported)
        {
            len += MessageBuilder.CStringLength(name);
        }
        b.StartMessage(BackendCode.NegotiateProtocolVersion, len);
        b.WriteInt32(newestMinor);
        b.WriteInt32(unsupported.Count);
        foreach (var name in unsupported)
        {
            b.WriteCString(name);
        }
        b.EndMessage();
    }
}
