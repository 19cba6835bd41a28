namespace Sluice.Cli;

/// <summary>PgBouncer's pidfile rules: refuse to start if it names a live process, replace a stale one, remove it at exit.</summary>
internal static class PidFile
{
    public static string? CheckStale(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        if (int.TryParse(File.ReadAllText(path).Trim(), out var pid) && pid > 0 && Directory.Exists($"/proc/{pid}"))
        {
            return $"pidfile {path} exists and process {pid} is running";
        }
        File.Delete(path);
        return null;
    }

    public static void Write(string path) => File.WriteAllText(path, $"{Environment.ProcessId}\n");

    public static void Remove(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Somebody else removed it; nothing left to clean.
        }
    }
}
