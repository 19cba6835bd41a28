using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Auth;

/// <summary>
/// The address column of a host/hostssl/hostnossl rule: <c>all</c>, an IPv4/IPv6 CIDR, or an
/// address followed by a netmask column. Host names, <c>samehost</c> and <c>samenet</c> are not
/// supported (as in PgBouncer).
/// </summary>
public sealed class HbaAddress
{
    private readonly byte[] network;
    private readonly byte[] mask;

    private HbaAddress(bool isAll, AddressFamily family, byte[] network, byte[] mask)
    {
        IsAll = isAll;
        Family = family;
        this.network = network;
        this.mask = mask;
    }

    /// <summary>The <c>all</c> address: every client address (IPv4 and IPv6).</summary>
    public static HbaAddress All { get; } = new(true, AddressFamily.Unspecified, [], []);

    public bool IsAll { get; }

    /// <summary><see cref="AddressFamily.InterNetwork"/> or <see cref="AddressFamily.InterNetworkV6"/>; Unspecified for <c>all</c>.</summary>
    public AddressFamily Family { get; }

    /// <summary>The address as written (null for <c>all</c>).</summary>
    public IPAddress? Network => IsAll ? null : new IPAddress(network);

    /// <summary>The netmask (null for <c>all</c>).</summary>
    public IPAddress? Mask => IsAll ? null : new IPAddress(mask);

    /// <summary>True when the written address has bits set outside the mask (PgBouncer warns about this).</summary>
    public bool HasHostBits
    {
        get
        {
            for (var i = 0; i < network.Length; i++)
            {
                if ((network[i] & ~mask[i]) != 0)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Whether <paramref name="client"/> is inside this range. IPv4 rules also match IPv4-mapped
    /// IPv6 clients (<c>::ffff:a.b.c.d</c>, as seen on dual-stack listeners); IPv6 rules match IPv6
    /// clients only. Both the client and the rule address are masked, so a rule written with host
    /// bits set (<c>10.1.2.3/8</c>) behaves like its network (PostgreSQL semantics).
    /// </summary>
    public bool Matches(IPAddress? client)
    {
        if (IsAll)
        {
            return true;
        }

        if (client is null)
        {
            return false;
        }

        if (Family == AddressFamily.InterNetwork)
        {
            if (client.AddressFamily == AddressFamily.InterNetworkV6 && client.IsIPv4MappedToIPv6)
            {
                client = client.MapToIPv4();
            }
            else if (client.AddressFamily != AddressFamily.InterNetwork)
            {
                return false;
            }
        }
        else if (client.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!client.TryWriteBytes(bytes, out var written) || written != network.Length)
        {
            return false;
        }

        for (var i = 0; i < written; i++)
        {
            if (((bytes[i] ^ network[i]) & mask[i]) != 0)
            {
                return false;
            }
        }

        return true;
    }

    public override string ToString()
    {
        if (IsAll)
        {
            return "all";
        }

        var prefix = PrefixLength(mask);
        return prefix >= 0
            ? $"{new IPAddress(network)}/{prefix.ToString(CultureInfo.InvariantCulture)}"
            : $"{new IPAddress(network)} {new IPAddress(mask)}";
    }

    /// <summary>Parses a numeric IP address the way inet_pton does (no host names, no shorthand IPv4, no zone ids).</summary>
    internal static bool TryParseIp(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Length == 0)
        {
            return false;
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            // Numeric IPv6 only: no zone ids, no brackets.
            if (text.AsSpan().IndexOfAny('%', '[', ']') >= 0 || text.AsSpan().ContainsAny(" \t"))
            {
                return false;
            }

            if (IPAddress.TryParse(text, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6)
            {
                address = v6;
                return true;
            }

            return false;
        }

        // Strict dotted quad (inet_pton): four decimal octets, no leading zeros, no shorthand.
        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        var bytes = new byte[4];
        for (var i = 0; i < 4; i++)
        {
            var p = parts[i];
            if (p.Length is 0 or > 3 || (p.Length > 1 && p[0] == '0') || !p.All(char.IsAsciiDigit))
            {
                return false;
            }

            var v = int.Parse(p, NumberStyles.None, CultureInfo.InvariantCulture);
            if (v > 255)
            {
                return false;
            }

            bytes[i] = (byte)v;
        }

        address = new IPAddress(bytes);
        return true;
    }

    internal static HbaAddress Create(IPAddress network, IPAddress mask)
    {
        if (network.AddressFamily != mask.AddressFamily)
        {
            throw new ArgumentException("address and mask families differ", nameof(mask));
        }

        return new HbaAddress(false, network.AddressFamily, NetworkBytes(network), mask.GetAddressBytes());
    }

    internal static HbaAddress CreateFromPrefix(IPAddress network, int bits)
    {
        var bytes = NetworkBytes(network);
        if (bits < 0 || bits > bytes.Length * 8)
        {
            throw new ArgumentOutOfRangeException(nameof(bits));
        }

        var mask = new byte[bytes.Length];
        for (var i = 0; i < bits / 8; i++)
        {
            mask[i] = 0xFF;
        }

        if (bits % 8 != 0)
        {
            mask[bits / 8] = (byte)(0xFF << (8 - (bits % 8)));
        }

        return new HbaAddress(false, network.AddressFamily, bytes, mask);
    }

    private static byte[] NetworkBytes(IPAddress network) => network.GetAddressBytes();

    /// <summary>The CIDR prefix length for a contiguous mask, or -1.</summary>
    private static int PrefixLength(byte[] mask)
    {
        var bits = 0;
        var ended = false;
        foreach (var b in mask)
        {
            for (var bit = 7; bit >= 0; bit--)
            {
                var set = (b >> bit & 1) != 0;
                if (set && ended)
                {
                    return -1;
                }

                if (set)
                {
                    bits++;
                }
                else
                {
                    ended = true;
                }
            }
        }

        return bits;
    }
}
