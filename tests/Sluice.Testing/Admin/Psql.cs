using System.Globalization;

namespace Sluice.Testing.Admin;

/// <summary>psql against the admin console (or any database) of a pooler on 127.0.0.1.</summary>
public static class Psql
{
    public static async Task<PsqlResult> RunAsync(int port, string command, string user, string password, string database = "pgbouncer")
    {
        var r = await ProcessRunner.RunAsync(
            "psql",
            ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", user, "-d", database,
             "-X", "-A", "-F", "|", "-P", "footer=off", "-v", "ON_ERROR_STOP=1", "-c", command],
            TimeSpan.FromSeconds(30),
            env: new Dictionary<string, string> { ["PGPASSWORD"] = password, ["PGCONNECT_TIMEOUT"] = "10", ["PGSSLMODE"] = "disable" });
        return new PsqlResult(r.ExitCode, r.StdOut, r.StdErr);
    }
}
