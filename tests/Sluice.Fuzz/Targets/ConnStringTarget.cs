using Sluice.Config;

namespace Sluice.Fuzz;

/// <summary>
/// A libpq-style connection string (key=value pairs with quoting and escapes, or a postgres:// URL) as it appears
/// after '=' in [databases], [users] and [peers]: DatabaseEntry.Parse, UserEntry.Parse and PeerEntry.Parse; and
/// the same text as the Docker image's DATABASE_URL (DatabaseUrl.Parse, which documents no exception).
/// Input: "name\nconnstring" (without a newline the name is "db"). Catches ConfigException only.
/// </summary>
public sealed class ConnStringTarget : FuzzTarget
{
    public override string Name => "conn-string";

    public override string Covers => "DatabaseEntry/UserEntry/PeerEntry.Parse over ConnString (quoting, URLs, typed values)";

    public override void Run(ReadOnlySpan<byte> input)
    {
        FuzzText.SplitFirst(FuzzText.Decode(input), '\n', out var name, out var connString);
        name ??= "db";
        try
        {
            var db = DatabaseEntry.Parse(name, connString);
            Check(db.Name == name && db.ConnectionString == connString, "name or text not kept");
            Check(db.Port is > 0 and <= 65535, $"port {db.Port} out of range");
            Check(db.PoolSize is null or >= 0, "negative pool_size");
            foreach (var host in db.Hosts)
            {
                Check(host is not null, "null host");
            }
        }
        catch (ConfigException)
        {
        }
        try
        {
            _ = UserEntry.Parse(name, connString);
        }
        catch (ConfigException)
        {
        }
        try
        {
            var peer = PeerEntry.Parse(name, connString);
            Check(peer.Port is > 0 and <= 65535, $"peer port {peer.Port} out of range");
        }
        catch (ConfigException)
        {
        }
        var url = DatabaseUrl.Parse(connString);
        Check(url.Host is null || url.Host.Length > 0, "empty host instead of null");
    }
}
