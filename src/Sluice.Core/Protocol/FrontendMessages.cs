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

    /// <summary>Parse of the unnamed statement with no declared parameter types.</summary>
    public static void WriteParse(MessageBuilder b, string sql)
    {
        var len = 1 +                                  // unnamed statement
                  MessageBuilder.CStringLength(sql) +  // query
                  sizeof(short);                       // no parameter types
        b.StartMessage(FrontendCode.Parse, len);
        b.WriteByte(0);
        b.WriteCString(sql);
        b.WriteInt16(0);
        b.EndMessage();
    }

    /// <summary>Bind of the unnamed portal and statement with one text parameter and text results.</summary>
    public static void WriteBindOneTextParameter(MessageBuilder b, string value)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(value);
        var len = 1 + 1 +              // unnamed portal, unnamed statement
                  sizeof(short) +      // parameter format codes: none (all text)
                  sizeof(short) +      // one parameter
                  sizeof(int) +        // its length
                  bytes.Length +       // its value
                  sizeof(short);       // result format codes: none (all text)
        b.StartMessage(FrontendCode.Bind, len);
        b.WriteByte(0);
        b.WriteByte(0);
        b.WriteInt16(0);
        b.WriteInt16(1);
        b.WriteInt32(bytes.Length);
        b.WriteBytes(bytes);
        b.WriteInt16(0);
        b.EndMessage();
    }

    public static void WriteExecute(MessageBuilder b)
    {
        b.StartMessage(FrontendCode.Execute, 1 + sizeof(int));   // unnamed portal, no row limit
        b.WriteByte(0);
        b.WriteInt32(0);
        b.EndMessage();
    }

    public static void WriteSync(MessageBuilder b)
    {
        b.StartMessage(FrontendCode.Sync, 0);
        b.EndMessage();
    }

    public static void WriteTerminate(MessageBuilder b)
    {
        b.StartMessage(FrontendCode.Terminate, 0);
        b.EndMessage();
    }
}
