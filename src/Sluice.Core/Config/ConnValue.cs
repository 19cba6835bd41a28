using System.Globalization;

namespace Sluice.Config;

/// <summary>Typed parsing of single connection-string values; errors name the entry and the parameter.</summary>
internal static class ConnValue
{
    public static int Int(string owner, string key, string value, int min = 0, int max = int.MaxValue)
    {
        if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            || number < min || number > max)
        {
            throw Invalid(owner, key, value);
        }

        return number;
    }

    /// <summary>Seconds; a negative value means "not set here" (PgBouncer's -1), so the global setting applies.</summary>
    public static double? Seconds(string owner, string key, string value)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            || !double.IsFinite(seconds))
        {
            throw Invalid(owner, key, value);
        }

        return seconds < 0 ? null : seconds;
    }

    public static PoolMode PoolMode(string owner, string key, string value) =>
        EnumNames.TryParsePoolMode(value, out var mode) ? mode : throw Invalid(owner, key, value);

    public static ConfigException Invalid(string owner, string key, string value) =>
        new($"invalid value \"{value}\" for parameter {key}", key: owner);
}
