using System.Buffers.Binary;
using System.Text;

namespace Sluice.Protocol;

/// <summary>A parsed v3 StartupMessage: the parameters in the order the client sent them.</summary>
internal sealed class StartupPacket
{
    private StartupPacket(int protocolVersion, List<KeyValuePair<string, string>> parameters)
    {
        ProtocolVersion = protocolVersion;
        Parameters = parameters;
    }

    public int ProtocolVersion { get; }

    public int MajorVersion => ProtocolVersion >> 16;

    public int MinorVersion => ProtocolVersion & 0xFFFF;

    /// <summary>A List, not an interface, so that a foreach over it allocates no enumerator: logins read it several times.</summary>
    public List<KeyValuePair<string, string>> Parameters { get; }

    public string? this[string name]
    {
        get
        {
            foreach (var (key, value) in Parameters)
            {
                if (key == name)
                {
                    return value;
                }
            }
            return null;
        }
    }

    /// <summary>
    /// Parses the body after the length field (starting at the protocol version).
    /// Returns null with <paramref name="error"/> set when the packet is malformed.
    /// </summary>
    public static StartupPacket? TryParse(ReadOnlySpan<byte> body, out string? error)
    {
        error = null;
        if (body.Length < 4)
        {
            error = "invalid startup packet";
            return null;
        }
        var version = BinaryPrimitives.ReadInt32BigEndian(body);
        var parameters = new List<KeyValuePair<string, string>>();
        var rest = body[4..];
        while (true)
        {
            if (rest.IsEmpty)
            {
                error = "invalid startup packet: missing terminator";
                return null;
            }
            if (rest[0] == 0)
            {
                break;   // list terminator
            }
            if (!TryReadCString(ref rest, out var key, knownKey: true) || !TryReadCString(ref rest, out var value))
            {
                error = "invalid startup packet: unterminated parameter";
                return null;
            }
            parameters.Add(new(key, value));
        }
        return new StartupPacket(version, parameters);
    }

    private static bool TryReadCString(ref ReadOnlySpan<byte> span, out string value, bool knownKey = false)
    {
        var end = span.IndexOf((byte)0);
        if (end < 0)
        {
            value = "";
            return false;
        }
        var bytes = span[..end];
        value = (knownKey ? KnownKey(bytes) : null) ?? Encoding.UTF8.GetString(bytes);
        span = span[(end + 1)..];
        return true;
    }

    /// <summary>The keys every driver sends, as constant strings rather than new ones per login.</summary>
    private static string? KnownKey(ReadOnlySpan<byte> key) => key switch
    {
        _ when key.SequenceEqual("user"u8) => "user",
        _ when key.SequenceEqual("database"u8) => "database",
        _ when key.SequenceEqual("application_name"u8) => "application_name",
        _ when key.SequenceEqual("client_encoding"u8) => "client_encoding",
        _ when key.SequenceEqual("options"u8) => "options",
        _ when key.SequenceEqual("DateStyle"u8) => "DateStyle",
        _ when key.SequenceEqual("TimeZone"u8) => "TimeZone",
        _ when key.SequenceEqual("extra_float_digits"u8) => "extra_float_digits",
        _ => null,
    };
}
