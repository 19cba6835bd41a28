namespace Sluice.Config;

/// <summary>One [peers] line: another pooler process that cancel requests carrying its id are forwarded to.</summary>
public sealed class PeerEntry
{
    public const int DefaultPort = 6432;
    public const int MaxId = 65535;

    private PeerEntry(int id, string host, int port, int? poolSize)
    {
        Id = id;
        Host = host;
        Port = port;
        PoolSize = poolSize;
    }

    public int Id { get; }

    /// <summary>Host name or IP; a value starting with '/' is a Unix socket directory.</summary>
    public string Host { get; }

    public int Port { get; }

    /// <summary>Maximum cancel requests in flight to this peer; null = default_pool_size.</summary>
    public int? PoolSize { get; }

    /// <exception cref="ConfigException">Bad id, missing host, unknown parameter or bad value (without file/line).</exception>
    public static PeerEntry Parse(string id, string connString)
    {
        var peerId = ConnValue.Int(id, "peer id", id, 1, MaxId);
        string? host = null;
        var port = DefaultPort;
        int? poolSize = null;
        foreach (var (key, value) in ConnString.Parse(connString, id))
        {
            switch (key)
            {
                case "host": host = value; break;
                case "port": port = ConnValue.Int(id, key, value, 1, 65535); break;
                case "pool_size": poolSize = ConnValue.Int(id, key, value); break;
                default: throw new ConfigException($"unrecognized peer parameter: {key}", key: id);
            }
        }

        return host is null
            ? throw new ConfigException("peer has no host", key: id)
            : new PeerEntry(peerId, host, port, poolSize);
    }
}
