using System.Text;

namespace Sluice.Protocol;

/// <summary>The fields of an ErrorResponse or NoticeResponse body that Sluice logs or relays.</summary>
internal readonly record struct ErrorFields(string Severity, string SqlState, string Message)
{
    public static ErrorFields Parse(ReadOnlySpan<byte> body)
    {
        string severity = "ERROR", code = "", message = "";
        var sawNonLocalized = false;
        while (!body.IsEmpty && body[0] != 0)
        {
            var field = body[0];
            body = body[1..];
            var end = body.IndexOf((byte)0);
            if (end < 0)
            {
                break;
            }
            var text = Encoding.UTF8.GetString(body[..end]);
            body = body[(end + 1)..];
            switch (field)
            {
                case (byte)'V': severity = text; sawNonLocalized = true; break;
                case (byte)'S' when !sawNonLocalized: severity = text; break;
                case (byte)'C': code = text; break;
                case (byte)'M': message = text; break;
            }
        }
        return new ErrorFields(severity, code, message);
    }
}
