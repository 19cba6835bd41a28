namespace Sluice.Protocol;

/// <summary>The int32 subtype of an Authentication ('R') message.</summary>
internal enum AuthRequest
{
    Ok = 0,
    CleartextPassword = 3,
    Md5Password = 5,
    Sasl = 10,
    SaslContinue = 11,
    SaslFinal = 12,
}
