using System.Security.Cryptography;
using System.Text;

namespace Sluice.Config;

/// <summary>
/// Generates pgbouncer.ini from the environment variables of the edoburu/pgbouncer Docker image, so Sluice can
/// replace that image without changing a deployment's variables.
/// </summary>
public static partial class ConfigLoader
{
    // Keys the image writes only when their variable is non-empty; the variable is the key in upper case.
    private static readonly string[] OptionalEnvKeys =
    [
        "auth_hba_file", "auth_user", "auth_query", "auth_dbname",
        "pool_mode", "max_client_conn", "default_pool_size", "min_pool_size", "reserve_pool_size", "reserve_pool_timeout",
        "max_db_connections", "max_user_connections", "server_round_robin",
        "disable_pqexec", "application_name_add_host", "max_prepared_statements",
        "log_connections", "log_disconnections", "log_pooler_errors", "log_stats", "stats_period", "verbose", "logfile",
        "stats_users",
        "server_reset_query", "server_reset_query_always", "server_check_delay", "server_check_query", "server_lifetime",
        "server_idle_timeout", "server_connect_timeout", "server_login_retry", "client_login_timeout", "autodb_idle_timeout",
        "dns_max_ttl", "dns_nxdomain_ttl",
        "client_tls_sslmode", "client_tls_key_file", "client_tls_cert_file", "client_tls_ca_file", "client_tls_protocols",
        "client_tls_ciphers", "client_tls_ecdhcurve", "client_tls_dheparams",
        "server_tls_sslmode", "server_tls_ca_file", "server_tls_key_file", "server_tls_cert_file", "server_tls_protocols",
        "server_tls_ciphers",
        "query_timeout", "query_wait_timeout", "client_idle_timeout", "idle_transaction_timeout",
        "pkt_buf", "max_packet_size", "listen_backlog", "sbuf_loopcnt", "suspend_timeout",
        "tcp_defer_accept", "tcp_keepalive", "tcp_keepcnt", "tcp_keepidle", "tcp_keepintvl", "tcp_user_timeout",
    ];

    /// <param name="iniText">The generated pgbouncer.ini, for writing to disk or printing as the image does.</param>
    /// <param name="userlistLine">A <c>"user" "secret"</c> auth_file line for DB_USER/DB_PASSWORD, or null.</param>
    /// <exception cref="ConfigException">DB_HOST is missing or a variable has a bad value.</exception>
    public static PoolerConfig FromEnvironment(IReadOnlyDictionary<string, string> env, out string iniText, out string? userlistLine)
    {
        string? Get(string name) => env.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

        var authType = Get("AUTH_TYPE") ?? "md5";
        var ini = new StringBuilder("[databases]\n");
        userlistLine = null;
        foreach (var url in DatabaseUrls(Get))
        {
            var user = url?.User ?? Get("DB_USER");
            var password = url?.Password ?? Get("DB_PASSWORD");
            var host = url?.Host ?? Get("DB_HOST")
                ?? throw new ConfigException("DB_HOST (or DATABASE_URL) is required", "<environment>");
            var name = url?.DbName ?? Get("DB_NAME");

            // auth_user, not user: clients keep their own identity and unknown users are looked up through DB_USER.
            ini.Append(QuoteName(name ?? "*")).Append(" = host=").Append(QuoteValue(host))
               .Append(" port=").Append(QuoteValue(url?.Port ?? Get("DB_PORT") ?? "5432"))
               .Append(" auth_user=").Append(QuoteValue(user ?? "postgres"));
            // The image puts these in the wrong section, which makes PgBouncer refuse to start; they belong to the database.
            AppendIfSet(ini, "client_encoding", Get("CLIENT_ENCODING"));
            AppendIfSet(ini, "timezone", Get("TIMEZONE"));
            AppendIfSet(ini, "pool_size", Get("POOL_SIZE"));
            ini.Append('\n');

            if (userlistLine is null && user is not null && password is not null)
            {
                userlistLine = $"\"{user.Replace("\"", "\"\"", StringComparison.Ordinal)}\" \"{Secret(authType, user, password)}\"";
            }
        }

        ini.Append("\n[pgbouncer]\n")
           .Append("listen_addr = ").Append(Get("LISTEN_ADDR") ?? "0.0.0.0").Append('\n')
           .Append("listen_port = ").Append(Get("LISTEN_PORT") ?? "5432").Append('\n')
           .Append("unix_socket_dir = ").Append(Get("UNIX_SOCKET_DIR") ?? "").Append('\n')
           .Append("auth_file = ").Append(Get("AUTH_FILE") ?? "/etc/pgbouncer/userlist.txt").Append('\n')
           .Append("auth_type = ").Append(authType).Append('\n')
           .Append("ignore_startup_parameters = ").Append(Get("IGNORE_STARTUP_PARAMETERS") ?? "extra_float_digits").Append('\n')
           .Append("admin_users = ").Append(Get("ADMIN_USERS") ?? "postgres").Append('\n');
        foreach (var key in OptionalEnvKeys)
        {
            if (Get(key.ToUpperInvariant()) is { } value)
            {
                ini.Append(key).Append(" = ").Append(value).Append('\n');
            }
        }

        iniText = ini.ToString();
        return LoadText(iniText, "<environment>");
    }

    private static IEnumerable<DatabaseUrl?> DatabaseUrls(Func<string, string?> get)
    {
        var urls = get("DATABASE_URLS") ?? get("DATABASE_URL");
        if (urls is null)
        {
            yield return null;
            yield break;
        }

        foreach (var url in urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            yield return DatabaseUrl.Parse(url);
        }
    }

    private static void AppendIfSet(StringBuilder ini, string key, string? value)
    {
        if (value is not null)
        {
            ini.Append(' ').Append(key).Append('=').Append(QuoteValue(value));
        }
    }

    /// <summary>PgBouncer can check a plaintext secret against any method; md5 is stored hashed as the image does.</summary>
    private static string Secret(string authType, string user, string password)
    {
        if (authType is "plain" or "scram-sha-256")
        {
            return password.Replace("\"", "\"\"", StringComparison.Ordinal);
        }

#pragma warning disable CA5351 // md5 here is PostgreSQL's password format, not a security choice.
        var hash = MD5.HashData(Encoding.UTF8.GetBytes(password + user));
#pragma warning restore CA5351
        return "md5" + Convert.ToHexStringLower(hash);
    }

    private static string QuoteName(string name) =>
        name == "*" || name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
            ? name
            : "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string QuoteValue(string value) =>
        value.Any(c => char.IsWhiteSpace(c) || c is '\'' or '\\')
            ? "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'"
            : value;
}
