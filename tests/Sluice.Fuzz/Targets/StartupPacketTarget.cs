using System.Buffers.Binary;
using System.Text;
using Sluice.Protocol;

namespace Sluice.Fuzz;

/// <summary>
/// <see cref="StartupPacket.TryParse"/> on the body of an untyped packet (after the length field), plus the
/// dispatch on the first int32 that ClientConnection.LoginAsync does. TryParse documents no exception at all.
/// </summary>
public sealed class StartupPacketTarget : FuzzTarget
{
    public override string Name => "startup";

    public override string Covers => "StartupPacket.TryParse (protocol version, key/value C strings, terminator)";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var packet = StartupPacket.TryParse(input, out var error);
        if (packet is null)
        {
            Check(error is not null, "TryParse returned null without an error");
            return;
        }
        Check(error is null, "TryParse returned a packet and an error");
        Check(input.Length >= 4 && packet.ProtocolVersion == BinaryPrimitives.ReadInt32BigEndian(input), "protocol version is not the first int32");
        Check(packet.MajorVersion == packet.ProtocolVersion >> 16 && packet.MinorVersion == (packet.ProtocolVersion & 0xFFFF), "major/minor split");
        _ = packet.ProtocolVersion switch
        {
            StartupCode.SslRequest or StartupCode.GssEncRequest or StartupCode.CancelRequest => 0,
            _ => packet.MajorVersion,
        };

        // Re-encoding the parameters must give back the bytes that were parsed when they were valid UTF-8.
        // (Invalid UTF-8 only grows: each bad sequence of up to 3 bytes becomes the 3-byte U+FFFD.)
        var encoded = new List<byte>(input.Length);
        foreach (var (key, value) in packet.Parameters)
        {
            Check(key.Length > 0, "empty parameter name (the list terminator) parsed as a parameter");
            Check(!key.Contains('\0') && !value.Contains('\0'), "NUL inside a parsed C string");
            Check(packet[key] is not null, "indexer does not find a parsed name");
            encoded.AddRange(Encoding.UTF8.GetBytes(key));
            encoded.Add(0);
            encoded.AddRange(Encoding.UTF8.GetBytes(value));
            encoded.Add(0);
        }
        encoded.Add(0);
        var consumed = input[4..Math.Min(4 + encoded.Count, input.Length)];
        if (System.Text.Unicode.Utf8.IsValid(consumed))
        {
            Check(consumed.SequenceEqual(encoded.ToArray()), "re-encoded parameters differ from the parsed bytes");
        }
        _ = packet["user"];
        _ = packet["database"];
    }
}
