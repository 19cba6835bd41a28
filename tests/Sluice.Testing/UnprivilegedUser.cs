namespace Sluice.Testing;

/// <summary>
/// PostgreSQL (and pgbouncer) refuse to run as root. When the test process runs as root, such programs are started
/// as the <c>postgres</c> OS user through <c>runuser</c>.
/// </summary>
public static class UnprivilegedUser
{
    private static readonly Lazy<bool> s_isRoot = new(() => GetEffectiveUid() == 0);
    private static readonly Lazy<string> s_runuser = new(() =>
        new[] { "/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser" }.FirstOrDefault(File.Exists) ?? "runuser");

    /// <summary>The OS user to run server programs as: "postgres" when the current euid is 0, else null (run as ourselves).</summary>
    public static string? Name => IsRoot ? "postgres" : null;

    /// <summary>True when the effective uid of this process is 0.</summary>
    public static bool IsRoot => s_isRoot.Value;

    /// <summary>Wraps a command for <see cref="Name"/> (no-op when not root).</summary>
    public static (string File, IReadOnlyList<string> Args) Wrap(string file, IEnumerable<string> args)
        => Name is null ? (file, args.ToList()) : Wrap(file, args, Name);

    /// <summary>Wraps a command as <c>runuser -u user -- file args...</c>.</summary>
    public static (string File, IReadOnlyList<string> Args) Wrap(string file, IEnumerable<string> args, string user)
    {
        var list = new List<string> { "-u", user, "--", file };
        list.AddRange(args);
        return (s_runuser.Value, list);
    }

    /// <summary>When root, recursively chowns <paramref name="path"/> to <see cref="Name"/> (no-op otherwise).</summary>
    public static async Task ChownAsync(string path, bool recursive = false)
    {
        if (Name is null)
        {
            return;
        }
        var args = new List<string>();
        if (recursive)
        {
            args.Add("-R");
        }
        args.Add(Name + ":");
        args.Add(path);
        (await ProcessRunner.RunAsync("chown", args, TimeSpan.FromSeconds(30)).ConfigureAwait(false)).EnsureSuccess($"chown {path}");
    }

    /// <summary>True if <see cref="Name"/> (or we, when not root) can access <paramref name="path"/> with the given test(1) flag (-r, -x, -w).</summary>
    public static async Task<bool> CanAccessAsync(string path, string testFlag = "-r")
    {
        if (Name is null)
        {
            return File.Exists(path) || Directory.Exists(path);
        }
        var r = await ProcessRunner.RunAsync("test", new[] { testFlag, path }, TimeSpan.FromSeconds(10), runAsUser: Name).ConfigureAwait(false);
        return r.Success;
    }

    private static int GetEffectiveUid()
    {
        // /proc/self/status: "Uid:\treal\teffective\tsaved\tfs"
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    return int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return string.Equals(Environment.UserName, "root", StringComparison.Ordinal) ? 0 : 1000;
    }
}
