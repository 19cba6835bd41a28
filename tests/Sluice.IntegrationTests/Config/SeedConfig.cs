using System.Globalization;
using Sluice.Testing;

namespace Sluice.IntegrationTests.Config;

/// <summary>
/// The typical user's PgBouncer setup ("the seed configuration"): transaction pooling, 1000 clients, pools of 25 with
/// a minimum of 10 and a reserve of 5, at most 100 connections per database, hour-long server lifetime, connection
/// logging, md5 auth with md5 secrets in the userlist. Here it points at the fixture's appdb as md5user.
/// </summary>
internal static class SeedConfig
{
    public const string User = PostgresInstance.Md5User;
    public const string Password = PostgresInstance.Md5Password;
    public const string Database = PostgresInstance.AppDatabase;

    /// <summary>The settings as the edoburu image's variables (besides DB_*, listen and file locations).</summary>
    public static readonly (string Name, string Value)[] Variables =
    [
        ("POOL_MODE", "transaction"),
        ("MAX_CLIENT_CONN", "1000"),
        ("DEFAULT_POOL_SIZE", "25"),
        ("MIN_POOL_SIZE", "10"),
        ("RESERVE_POOL_SIZE", "5"),
        ("MAX_DB_CONNECTIONS", "100"),
        ("SERVER_LIFETIME", "3600"),
        ("LOG_CONNECTIONS", "1"),
        ("LOG_DISCONNECTIONS", "1"),
        ("AUTH_TYPE", "md5"),
        ("ADMIN_USERS", User),
    ];

    /// <summary>The userlist line the image writes for DB_USER/DB_PASSWORD with AUTH_TYPE=md5.</summary>
    public static string UserlistLine => $"\"{User}\" \"{TempFiles.Md5Secret(User, Password)}\"";

    /// <summary>The seed as a hand-written pgbouncer.ini.</summary>
    public static string Ini(PostgresInstance postgres, int listenPort, string authFile) => $"""
        ;; the seed configuration, as a user would write it
        [databases]
        {Database} = host={postgres.Host} port={postgres.Port.ToString(CultureInfo.InvariantCulture)} dbname={Database}

        [pgbouncer]
        listen_addr = 127.0.0.1
        listen_port = {listenPort.ToString(CultureInfo.InvariantCulture)}
        unix_socket_dir =
        auth_type = md5
        auth_file = {authFile}
        admin_users = {User}
        ignore_startup_parameters = extra_float_digits
        pool_mode = transaction
        max_client_conn = 1000
        default_pool_size = 25
        min_pool_size = 10
        reserve_pool_size = 5
        max_db_connections = 100
        server_lifetime = 3600
        log_connections = 1
        log_disconnections = 1

        """;

    /// <summary>
    /// The pgbouncer.ini the image's entrypoint.sh writes for <paramref name="env"/> (its printf template, keys only
    /// when their variable is non-empty), as (section, key) → value.
    /// </summary>
    public static Dictionary<(string Section, string Key), string> ImageIni(IReadOnlyDictionary<string, string> env)
    {
        string? Get(string name) => env.TryGetValue(name, out var v) && v.Length > 0 ? v : null;
        var name = Get("DB_NAME") ?? "*";
        var ini = new Dictionary<(string, string), string>
        {
            [("databases", name)] = $"host={Get("DB_HOST")} port={Get("DB_PORT") ?? "5432"} auth_user={Get("DB_USER") ?? "postgres"}",
            [("pgbouncer", "listen_addr")] = Get("LISTEN_ADDR") ?? "0.0.0.0",
            [("pgbouncer", "listen_port")] = Get("LISTEN_PORT") ?? "5432",
            [("pgbouncer", "unix_socket_dir")] = Get("UNIX_SOCKET_DIR") ?? "",
            [("pgbouncer", "user")] = "postgres",
            [("pgbouncer", "auth_file")] = Get("AUTH_FILE") ?? "/etc/pgbouncer/userlist.txt",
            [("pgbouncer", "auth_type")] = Get("AUTH_TYPE") ?? "md5",
            [("pgbouncer", "ignore_startup_parameters")] = Get("IGNORE_STARTUP_PARAMETERS") ?? "extra_float_digits",
            [("pgbouncer", "admin_users")] = Get("ADMIN_USERS") ?? "postgres",
        };
        foreach (var key in new[]
                 {
                     "pool_mode", "max_client_conn", "default_pool_size", "min_pool_size", "reserve_pool_size",
                     "max_db_connections", "server_lifetime", "log_connections", "log_disconnections",
                 })
        {
            if (Get(key.ToUpperInvariant()) is { } value)
            {
                ini[("pgbouncer", key)] = value;
            }
        }
        return ini;
    }

    /// <summary>Parses ini text (comments and blank lines skipped) into (section, key) → value.</summary>
    public static Dictionary<(string Section, string Key), string> ParseIni(string text)
    {
        var result = new Dictionary<(string, string), string>();
        var section = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is ';' or '#')
            {
                continue;
            }
            if (line[0] == '[' && line[^1] == ']')
            {
                section = line[1..^1];
                continue;
            }
            var eq = line.IndexOf('=');
            Assert.True(eq > 0, $"not a key = value line: {line}");
            result[(section, line[..eq].Trim())] = line[(eq + 1)..].Trim();
        }
        return result;
    }
}
