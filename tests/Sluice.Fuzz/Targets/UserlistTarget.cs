using Sluice.Auth;

namespace Sluice.Fuzz;

/// <summary>
/// auth_file (userlist.txt) text through AuthFile.Parse, and each parsed secret through PasswordSecret.Parse's
/// classification (plain / md5 / SCRAM-SHA-256$…). Catches FormatException only (documented for a bad line).
/// </summary>
public sealed class UserlistTarget : FuzzTarget
{
    public override string Name => "userlist";

    public override string Covers => "AuthFile.Parse (quoted fields, \"\" escapes, comments) and the secret formats";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var text = FuzzText.Decode(input);
        AuthFile file;
        try
        {
            file = AuthFile.Parse(text, "userlist.txt");
        }
        catch (FormatException)
        {
            return;
        }
        Check(file.Count >= 0, "negative count");
        // Every user name that appears quoted at the start of a line and parsed must be found again.
        foreach (var line in text.Split('\n'))
        {
            var trimmed = line.TrimStart();
            if (trimmed.Length < 2 || trimmed[0] != '"')
            {
                continue;
            }
            var end = trimmed.IndexOf('"', 1);
            if (end > 1 && trimmed.IndexOf("\"\"", 1, StringComparison.Ordinal) < 0)
            {
                var user = trimmed[1..end];
                Check(file.TryGet(user, out var secret) && secret is not null, $"user on a parsed line is missing");
            }
        }
    }
}
