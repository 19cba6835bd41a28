using System.Text;

namespace Sluice.Fuzz;

internal static class FuzzText
{
    /// <summary>The input as the parsers see a file read as UTF-8 (invalid bytes become U+FFFD).</summary>
    public static string Decode(ReadOnlySpan<byte> input) => Encoding.UTF8.GetString(input);

    /// <summary>Splits at the first occurrence of <paramref name="separator"/>; without one, <paramref name="first"/> is null.</summary>
    public static void SplitFirst(string text, char separator, out string? first, out string rest)
    {
        var at = text.IndexOf(separator, StringComparison.Ordinal);
        first = at < 0 ? null : text[..at];
        rest = at < 0 ? text : text[(at + 1)..];
    }
}
