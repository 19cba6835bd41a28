using System.Globalization;

namespace Sluice.Admin;

/// <summary>Value formatting shared by the SHOW commands.</summary>
internal static class AdminFormat
{
    private static readonly HashSet<string> UtcZoneIds = new(StringComparer.OrdinalIgnoreCase)
    {
        "UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu", "Coordinated Universal Time",
    };

    private static readonly HashSet<string> GmtZoneIds = new(StringComparer.OrdinalIgnoreCase)
    {
        "GMT", "Etc/GMT", "Etc/GMT+0", "Etc/GMT-0", "Etc/GMT0", "GMT0", "Greenwich", "Etc/Greenwich",
    };

    /// <summary>The wall-clock time of a <see cref="TimeProvider"/> timestamp taken earlier.</summary>
    public static DateTimeOffset WallClock(TimeProvider time, long timestamp) =>
        time.GetUtcNow() - time.GetElapsedTime(timestamp);

    /// <summary>
    /// <c>YYYY-MM-DD HH:MM:SS TZ</c> in local time, like PgBouncer's strftime <c>%F %T %Z</c>. .NET does not
    /// expose zone abbreviations, so UTC/GMT zones print as such and any other zone as its offset (<c>+0200</c>).
    /// </summary>
    public static string Timestamp(DateTimeOffset utc)
    {
        var zone = TimeZoneInfo.Local;
        var local = TimeZoneInfo.ConvertTime(utc, zone);
        return local.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " " + ZoneName(zone, local.Offset);
    }

    private static string ZoneName(TimeZoneInfo zone, TimeSpan offset)
    {
        if (offset == TimeSpan.Zero)
        {
            if (UtcZoneIds.Contains(zone.Id))
            {
                return "UTC";
            }
            if (GmtZoneIds.Contains(zone.Id))
            {
                return "GMT";
            }
            if (zone.BaseUtcOffset == TimeSpan.Zero && !zone.SupportsDaylightSavingTime)
            {
                return "UTC";
            }
        }
        var sign = offset < TimeSpan.Zero ? "-" : "+";
        var abs = offset.Duration();
        return string.Create(CultureInfo.InvariantCulture, $"{sign}{abs.Hours:00}{abs.Minutes:00}");
    }
}
