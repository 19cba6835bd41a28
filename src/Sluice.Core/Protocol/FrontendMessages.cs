namespace Sluice.Protocol;

/// <summary>Writers for the frontend messages Sluice sends to servers (login, internal queries, cancel).</summary>
internal static class FrontendMessages
{
    public static void WriteStartup(MessageBuilder b, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        var len = sizeof(int);   // protocol version
        foreach (var (key, value) in parameters)
        {
            len += MessageBuilder.CStringLength(key) + MessageBuilder.CStringLength(value);
        }
        len += 1;                // terminator
        b.StartUntypedMessage(len);
        b.WriteInt32(StartupCode.ProtocolV3);
        foreach (var (key, value) in parameters)
        {
            b.WriteCString(key);
            b.WriteCString(value);
        }
        b.WriteByte(0);
        b.EndMessage();
    }

    public static void WriteQuery(MessageBuilder b, string sql)
    {
        b.StartMessage(FrontendCode.Query, MessageBuilder.CStringLength(sql));
        b.WriteCString(sql);
        b.EndMessage();
    }

    public static void WritePassword(MessageBuilder b, ReadOnlySpan<byte> password)
    {
        b.StartMessage(FrontendCode.Password, password.Length + 1);   // NUL-terminated password or md5 response
        b.WriteBytes(password);
        b.WriteByte(0);
        b.EndMessage();
    }

    public static void WriteSaslInitialResponse(MessageBuilder b, string mechanism, ReadOnlySpan<byte> data)
    {
        var len = MessageBuilder.CStringLength(mechanism) +   // mechanism name
                  sizeof(int) +                               // length of the initial response
                  data.Length;                                // client-first-message
        b.StartMessage(FrontendCode.Password, len);
        b.WriteCString(mechanism);
        b.WriteInt32(data.Length);
        b.WriteBytes(data);
        b.EndMessage();
    }

    public static void WriteSaslResponse(MessageBuilder b, ReadOnlySpan<byte> data)
    {
        b.StartMessage(FrontendCode.Password, data.Length);
        b.WriteBytes(data);
        b.EndMessage();
    }

    public static void WriteCancelRequest(MessageBuilder b, int processId, int secretKey)
    {
        var len = sizeof(int) +   // cancel request code
                  sizeof(int) +   // process id
                  sizeof(int);    // secret key
        b.StartUntypedMessage(len);
        b.WriteInt32(StartupCode.CancelRequest);
        b.WriteInt32(processId);
        b.WriteInt32(secretKey);
        b.EndMessage();
    }

    public static void WriteTerminate(MessageBuilder b)
    {
        b.StartMessage(FrontendCode.Terminate, 0);
        b.EndMessage();
    }
}
