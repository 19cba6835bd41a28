using System.Globalization;

namespace Sluice.Config;

/// <summary>Parses setting text the way PgBouncer's config library does, and gives back its canonical spelling for SHOW CONFIG.</summary>
internal static class ValueParser
{
    /// <summary>Checks <paramref name="value"/> against the setting's type; returns null when valid, else the problem.</summary>
    public static string? Validate(SettingDefinition setting, string value, out string canonical)
    {
        canonical = value;
        switch (setting.Type)
        {
            case SettingType.Int:
                if (!TryParseInt(value, out var number))
                {
                    return $"invalid integer value \"{value}\"";
                }

                canonical = number.ToString(CultureInfo.InvariantCulture);
                return null;
            case SettingType.Bool:
                if (!TryParseBool(value, out var flag))
                {
                    return $"invalid boolean value \"{value}\"";
                }

                canonical = flag ? "1" : "0";
                return null;
            case SettingType.Time:
                if (!TryParseSeconds(value, out var seconds))
                {
                    return $"invalid time value \"{value}\" (expected non-negative seconds)";
                }

                canonical = seconds.ToString(CultureInfo.InvariantCulture);
                return null;
            case SettingType.Enum:
                foreach (var allowed in setting.AllowedValues)
                {
                    if (string.Equals(allowed, value, StringComparison.OrdinalIgnoreCase))
                    {
                        canonical = allowed;
                        return null;
                    }
                }

                return $"invalid value \"{value}\" (expected one of: {string.Join(", ", setting.AllowedValues)})";
            default:
                return null;
        }
    }

    /// <summary>C <c>strtol(s, &amp;end, 0)</c> semantics, so "0777" is octal and "0x1F" hex, restricted to the int range.</summary>
    public static bool TryParseInt(string text, out int value)
    {
        value = 0;
        var s = text.AsSpan().Trim();
        var negative = false;
        if (s.Length > 0 && (s[0] == '+' || s[0] == '-'))
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        var radix = 10;
        if (s.Length > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        {
            radix = 16;
            s = s[2..];
        }
        else if (s.Length > 1 && s[0] == '0')
        {
            radix = 8;
            s = s[1..];
        }

        if (s.IsEmpty)
        {
            return false;
        }

        long result = 0;
        foreach (var c in s)
        {
            var digit = HexDigit(c);
            if (digit < 0 || digit >= radix)
            {
                return false;
            }

            result = (result * radix) + digit;
            if (result > (long)int.MaxValue + 1)
            {
                return false;
            }
        }

        result = negative ? -result : result;
        if (result is < int.MinValue or > int.MaxValue)
        {
            return false;
        }

        value = (int)result;
        return true;
    }

    /// <summary>PgBouncer stores booleans as ints (non-zero = on); the usual words are accepted as well.</summary>
    public static bool TryParseBool(string text, out bool value)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "on" or "yes" or "true":
                value = true;
                return true;
            case "off" or "no" or "false":
                value = false;
                return true;
        }

        var ok = TryParseInt(text, out var number);
        value = number != 0;
        return ok;
    }

    public static bool TryParseSeconds(string text, out double seconds)
    {
        var ok = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out seconds)
            && double.IsFinite(seconds)
            && seconds >= 0
            && seconds <= TimeSpan.MaxValue.TotalSeconds / 2;
        if (!ok)
        {
            seconds = 0;
        }

        return ok;
    }

    /// <summary>Truncates to whole microseconds, the resolution PgBouncer keeps.</summary>
    public static TimeSpan ToTimeSpan(double seconds) =>
        TimeSpan.FromMicroseconds(Math.Floor(seconds * 1_000_000));

    public static IReadOnlyList<string> ParseList(string text)
    {
        var items = new List<string>();
        foreach (var part in text.Split(','))
        {
            var item = part.Trim();
            if (item.Length > 0)
            {
                items.Add(item);
            }
        }

        return items;
    }

    private static int HexDigit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
