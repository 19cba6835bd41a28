using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Sluice.Testing;

/// <summary>
/// A per-test temp directory under /tmp, mode 0755 (files 0644), owned by the unprivileged user when running as
/// root, so sluice/pgbouncer started as <c>postgres</c> can read configs and write logs/pidfiles/sockets there.
/// Deleted on Dispose.
/// </summary>
public sealed class TempDirectory : IDisposable
{
    private TempDirectory(string path) => Path = path;

    public string Path { get; }

    /// <summary>Creates /tmp/&lt;prefix&gt;XXXXXX (0755; chowned to <see cref="UnprivilegedUser.Name"/> when root).</summary>
    public static TempDirectory Create(string prefix = "sluice-test-")
    {
        var dir = TempFiles.CreateTempDir(prefix);
        if (UnprivilegedUser.Name is not null)
        {
            UnprivilegedUser.ChownAsync(dir).GetAwaiter().GetResult();
        }
        return new TempDirectory(dir);
    }

    /// <summary>Full path of <paramref name="name"/> inside the directory.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes a text file (0644, LF line endings as given) and returns its full path.</summary>
    public string WriteFile(string name, string content)
    {
        var path = File(name);
        var parent = System.IO.Path.GetDirectoryName(path);
        if (parent is not null && !Directory.Exists(parent))
        {
            Directory.CreateDirectory(parent);
            TempFiles.SetMode(parent, TempFiles.DirMode);
        }
        System.IO.File.WriteAllText(path, content, new UTF8Encoding(false));
        TempFiles.SetMode(path, TempFiles.FileMode);
        return path;
    }

    /// <summary>Writes an ini file built with <see cref="IniBuilder"/>.</summary>
    public string WriteIni(string name, IniBuilder ini) => WriteFile(name, ini.ToString());

    /// <summary>Writes a pgbouncer-style userlist (<c>"user" "secret"</c> per line).</summary>
    public string WriteUserList(string name, IEnumerable<KeyValuePair<string, string>> users) => WriteFile(name, TempFiles.UserList(users));

    /// <summary>Writes a pgbouncer-style userlist from (user, secret) tuples.</summary>
    public string WriteUserList(string name, params (string User, string Secret)[] users)
        => WriteUserList(name, users.Select(u => new KeyValuePair<string, string>(u.User, u.Secret)));

    /// <summary>Reads a file in the directory if it exists (e.g. a log), else empty string.</summary>
    public string ReadFileOrEmpty(string name)
    {
        var p = File(name);
        try { return System.IO.File.Exists(p) ? System.IO.File.ReadAllText(p) : ""; }
        catch (IOException) { return ""; }
    }

    public void Dispose() => TempFiles.TryDeleteDirectory(Path);
}

/// <summary>Builder for ini files (pgbouncer.ini / sluice.ini). Sections and keys keep insertion order; Set overwrites.</summary>
public sealed class IniBuilder
{
    private readonly List<(string Section, List<KeyValuePair<string, string>> Entries)> _sections = new();

    /// <summary>Sets <paramref name="key"/> = <paramref name="value"/> in <paramref name="section"/> (created if missing).</summary>
    public IniBuilder Set(string section, string key, string value)
    {
        var entries = GetSection(section);
        var idx = entries.FindIndex(kv => string.Equals(kv.Key, key, StringComparison.Ordinal));
        if (idx >= 0)
        {
            entries[idx] = new KeyValuePair<string, string>(key, value);
        }
        else
        {
            entries.Add(new KeyValuePair<string, string>(key, value));
        }
        return this;
    }

    public IniBuilder Set(string section, string key, int value) => Set(section, key, value.ToString(CultureInfo.InvariantCulture));

    /// <summary>Removes a key if present.</summary>
    public IniBuilder Remove(string section, string key)
    {
        GetSection(section).RemoveAll(kv => string.Equals(kv.Key, key, StringComparison.Ordinal));
        return this;
    }

    /// <summary>Shortcut for the [databases] section.</summary>
    public IniBuilder Database(string name, string connectString) => Set("databases", name, connectString);

    /// <summary>Shortcut for the [pgbouncer] section.</summary>
    public IniBuilder Setting(string key, string value) => Set("pgbouncer", key, value);

    public IniBuilder Setting(string key, int value) => Set("pgbouncer", key, value);

    /// <summary>Applies "key = value" lines to [pgbouncer], as a test would write them in the file.</summary>
    public IniBuilder SettingLines(IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                throw new ArgumentException($"not a \"key = value\" line: {line}", nameof(lines));
            }
            Setting(line[..eq].Trim(), line[(eq + 1)..].Trim());
        }
        return this;
    }

    /// <summary>Shortcut for the [users] section.</summary>
    public IniBuilder User(string name, string settings) => Set("users", name, settings);

    private List<KeyValuePair<string, string>> GetSection(string section)
    {
        foreach (var s in _sections)
        {
            if (string.Equals(s.Section, section, StringComparison.Ordinal))
            {
                return s.Entries;
            }
        }
        var list = new List<KeyValuePair<string, string>>();
        _sections.Add((section, list));
        return list;
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var (section, entries) in _sections)
        {
            sb.Append('[').Append(section).Append("]\n");
            foreach (var kv in entries)
            {
                sb.Append(kv.Key).Append(" = ").Append(kv.Value).Append('\n');
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }
}

/// <summary>Static helpers for temp files, userlists and free ports.</summary>
public static class TempFiles
{
    internal const UnixFileMode DirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    internal const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>Creates a fresh directory /tmp/&lt;prefix&gt;XXXXXX with mode 0755 (owned by the current user).</summary>
    public static string CreateTempDir(string prefix)
    {
        for (int attempt = 0; ; attempt++)
        {
            var path = Path.Combine("/tmp", prefix + Convert.ToHexString(RandomNumberGenerator.GetBytes(5)).ToLowerInvariant());
            if (Directory.Exists(path) || File.Exists(path))
            {
                continue;
            }
            Directory.CreateDirectory(path);
            SetMode(path, DirMode); // CreateDirectory uses 0777 & ~umask; make it exactly 0755
            return path;
        }
    }

    internal static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    /// <summary>Best-effort recursive delete.</summary>
    public static void TryDeleteDirectory(string path)
    {
        for (int i = 0; i < 3; i++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }
                return;
            }
            catch (IOException) { Thread.Sleep(100); }
            catch (UnauthorizedAccessException) { Thread.Sleep(100); }
        }
    }

    /// <summary>Formats a pgbouncer userlist.txt: <c>"user" "secret"</c> lines, with embedded double quotes doubled.</summary>
    public static string UserList(IEnumerable<KeyValuePair<string, string>> users)
    {
        var sb = new StringBuilder();
        foreach (var kv in users)
        {
            sb.Append('"').Append(kv.Key.Replace("\"", "\"\"", StringComparison.Ordinal)).Append("\" \"")
              .Append(kv.Value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append("\"\n");
        }
        return sb.ToString();
    }

    /// <summary>PostgreSQL md5 password hash: "md5" + md5hex(password + user).</summary>
    public static string Md5Secret(string user, string password)
    {
#pragma warning disable CA5351 // MD5 is what the PostgreSQL protocol uses
        var hash = MD5.HashData(Encoding.UTF8.GetBytes(password + user));
#pragma warning restore CA5351
        return "md5" + Convert.ToHexString(hash).ToLowerInvariant();
    }

    /// <summary>Picks a currently free TCP port on 127.0.0.1 (bind to port 0, read, release). Racy by nature; retry on conflict.</summary>
    public static int GetFreeTcpPort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}

/// <summary>Locates the published sluice executable for integration tests.</summary>
public static class SluiceBinary
{
    /// <summary>
    /// Path of the sluice executable: env SLUICE_BIN if it exists; else &lt;repo&gt;/artifacts/sluice/sluice; else
    /// src/Sluice/bin/{Release,Debug}/net10.0/sluice (searching up from the test assembly directory for Sluice.slnx).
    /// Returns null if none is found.
    /// </summary>
    public static string? TryLocate()
    {
        var env = Environment.GetEnvironmentVariable("SLUICE_BIN");
        if (!string.IsNullOrEmpty(env) && File.Exists(env))
        {
            return env;
        }
        var root = FindRepoRoot();
        if (root is null)
        {
            return null;
        }
        var candidates = new[]
        {
            Path.Combine(root, "artifacts", "sluice", "sluice"),
            Path.Combine(root, "src", "Sluice", "bin", "Release", "net10.0", "sluice"),
            Path.Combine(root, "src", "Sluice", "bin", "Debug", "net10.0", "sluice"),
        };
        return candidates.FirstOrDefault(File.Exists);
    }

    /// <summary>Like <see cref="TryLocate"/> but throws a descriptive exception when not found.</summary>
    public static string Locate() => TryLocate() ?? throw new FileNotFoundException(
        "sluice executable not found: set SLUICE_BIN or run scripts/test.sh (publishes to artifacts/sluice).");

    /// <summary>
    /// Path of a sluice executable the unprivileged user (<see cref="UnprivilegedUser.Name"/>) can execute:
    /// $SLUICE_BIN_DIR/sluice if it exists (scripts/test.sh sets it to a /tmp copy when the repo is not
    /// traversable by postgres), else <see cref="Locate"/>.
    /// </summary>
    public static string LocateForUnprivilegedUser()
    {
        var dir = Environment.GetEnvironmentVariable("SLUICE_BIN_DIR");
        if (!string.IsNullOrEmpty(dir) && File.Exists(Path.Combine(dir, "sluice")))
        {
            return Path.Combine(dir, "sluice");
        }
        return Locate();
    }

    /// <summary>Directory containing Sluice.slnx, searching upward from the test assembly location; null if not found.</summary>
    public static string? FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sluice.slnx")))
            {
                return dir.FullName;
            }
            dir = dir.Parent;
        }
        return null;
    }
}
