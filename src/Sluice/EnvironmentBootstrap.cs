using Sluice.Config;

namespace Sluice.Cli;

/// <summary>
/// Started with no config file, Sluice configures itself from the environment the way the edoburu/pgbouncer
/// image's entrypoint does: it writes pgbouncer.ini (unless one exists) and appends DB_USER's line to the
/// auth_file (unless the user is already there), then runs with that ini.
/// </summary>
internal static class EnvironmentBootstrap
{
    public static bool IsConfigured(IReadOnlyDictionary<string, string> env) =>
        Has(env, "DATABASE_URL") || Has(env, "DATABASE_URLS") || Has(env, "DB_HOST");

    /// <summary>Returns the path of the ini to load.</summary>
    public static string Prepare(IReadOnlyDictionary<string, string> env, TextWriter output)
    {
        var dir = env.TryGetValue("SLUICE_CONFIG_DIR", out var configured) && configured.Length > 0 ? configured : "/etc/pgbouncer";
        var iniPath = Path.Combine(dir, "pgbouncer.ini");
        var config = ConfigLoader.FromEnvironment(env, out var iniText, out var userlistLine);

        var authFile = config.AuthFile ?? Path.Combine(dir, "userlist.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(authFile))!);
        if (!File.Exists(authFile))
        {
            File.WriteAllText(authFile, "");
        }
        // Runs on every start (the file may be a volume), adding the user only once, as the image does.
        if (userlistLine is not null)
        {
            var userField = userlistLine[..(userlistLine.IndexOf("\" ", StringComparison.Ordinal) + 1)];
            if (!File.ReadLines(authFile).Any(line => line.StartsWith(userField, StringComparison.Ordinal)))
            {
                File.AppendAllText(authFile, userlistLine + "\n");
            }
        }
        // A mounted pgbouncer.ini wins: generation only happens when there is none.
        if (!File.Exists(iniPath))
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(iniPath, iniText);
            output.WriteLine(iniText);
        }
        return iniPath;
    }

    public static IReadOnlyDictionary<string, string> Read()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            result[(string)entry.Key] = (string?)entry.Value ?? "";
        }
        return result;
    }

    private static bool Has(IReadOnlyDictionary<string, string> env, string name) => env.TryGetValue(name, out var v) && v.Length > 0;
}
