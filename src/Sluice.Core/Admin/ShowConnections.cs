using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Sluice.Pooling;
using Sluice.Transport;

namespace Sluice.Admin;

/// <summary>
/// SHOW CLIENTS, SERVERS, SOCKETS and ACTIVE_SOCKETS: one row per connection with PgBouncer 1.25's 21 columns
/// (SOCKETS adds 7 buffer columns).
/// </summary>
internal static class ShowConnections
{
    /// <summary>Clients and servers number their ids separately; the ptr column keeps them apart with a type nibble.</summary>
    private const long ClientPtrBase = 0x1_0000_0000;
    private const long ServerPtrBase = 0x2_0000_0000;

    public static readonly AdminColumn[] ConnectionColumns =
    [
        AdminColumn.Text("type"),
        AdminColumn.Text("user"),
        AdminColumn.Text("database"),
        AdminColumn.Text("replication"),
        AdminColumn.Text("state"),
        AdminColumn.Text("addr"),
        AdminColumn.Int4("port"),
        AdminColumn.Text("local_addr"),
        AdminColumn.Int4("local_port"),
        AdminColumn.Text("connect_time"),
        AdminColumn.Text("request_time"),
        AdminColumn.Int4("wait"),
        AdminColumn.Int4("wait_us"),
        AdminColumn.Int4("close_needed"),
        AdminColumn.Text("ptr"),
        AdminColumn.Text("link"),
        AdminColumn.Int4("remote_pid"),
        AdminColumn.Text("tls"),
        AdminColumn.Text("application_name"),
        AdminColumn.Int4("prepared_statements"),
        AdminColumn.Int4("id"),
    ];

    public static readonly AdminColumn[] SocketColumns =
    [
        .. ConnectionColumns,
        AdminColumn.Int4("recv_pos"),
        AdminColumn.Int4("pkt_pos"),
        AdminColumn.Int4("pkt_remain"),
        AdminColumn.Int4("send_pos"),
        AdminColumn.Int4("send_remain"),
        AdminColumn.Int4("pkt_avail"),
        AdminColumn.Int4("send_avail"),
    ];

    /// <summary>One connection as the four commands print it; <see cref="SocketState"/> is SHOW SOCKETS' list name.</summary>
    private sealed record Row(
        string Type, string User, string Database, string State, string SocketState,
        string? Addr, int? Port, string? LocalAddr, int? LocalPort,
        DateTimeOffset ConnectTime, DateTimeOffset RequestTime, long WaitUs,
        string Ptr, string Link, int RemotePid, string Tls, string ApplicationName, long Id, string Replication = "none")
    {
        public object?[] Values(bool sockets)
        {
            object?[] values =
            [
                Type, User, Database, Replication, sockets ? SocketState : State, Addr, Port, LocalAddr, LocalPort,
                AdminFormat.Timestamp(ConnectTime), AdminFormat.Timestamp(RequestTime),
                (int)Math.Min(int.MaxValue, WaitUs / 1_000_000), (int)(WaitUs % 1_000_000),
                0, Ptr, Link, RemotePid, Tls, ApplicationName, 0, (int)Id,
            ];
            return sockets ? [.. values, 0, 0, 0, 0, 0, 0, 0] : values;
        }
    }

    public static ValueTask Clients(AdminContext ctx, AdminCommand command) => Write(ctx, ClientRows(ctx, includeLogin: false), sockets: false);

    public static ValueTask Servers(AdminContext ctx, AdminCommand command) => Write(ctx, ServerRows(ctx), sockets: false);

    public static ValueTask Sockets(AdminContext ctx, AdminCommand command) =>
        Write(ctx, [.. ClientRows(ctx, includeLogin: true), .. ServerRows(ctx)], sockets: true);

    /// <summary>
    /// PgBouncer lists only sockets with data waiting in their buffers. Sluice holds no buffer between reads
    /// (idle connections own none) and does not expose in-flight ones, so there is nothing to list.
    /// </summary>
    public static ValueTask ActiveSockets(AdminContext ctx, AdminCommand command) => Write(ctx, [], sockets: true);

    private static ValueTask Write(AdminContext ctx, List<Row> rows, bool sockets)
    {
        var result = ctx.BeginResult(sockets ? SocketColumns : ConnectionColumns);
        foreach (var row in rows)
        {
            result.Row(row.Values(sockets));
        }
        result.Complete();
        return ValueTask.CompletedTask;
    }

    public static string ClientPtr(long id) => "0x" + (ClientPtrBase + id).ToString("x", CultureInfo.InvariantCulture);

    public static string ServerPtr(long id) => "0x" + (ServerPtrBase + id).ToString("x", CultureInfo.InvariantCulture);

    private static List<Row> ClientRows(AdminContext ctx, bool includeLogin)
    {
        var pooler = ctx.Pooler;
        var time = pooler.Time;
        var config = pooler.Config;
        var appIndex = pooler.Tracked.IndexOf("application_name");
        var (listenAddr, listenPort) = ListenAddress(ctx);
        var rows = new List<(long Id, Row Row)>();

        foreach (var client in pooler.Clients)
        {
            var state = client.State;
            var pool = client.Pool;
            if (state == ClientState.Closed || client.IsDisconnecting)
            {
                continue;
            }
            var loggingIn = state == ClientState.Login || pool is null;
            if (loggingIn && !includeLogin)
            {
                continue;
            }
            var database = pool?.Key.Database;
            var (user, addr, port) = ParsePeer(client.Peer, database);
            var isUnix = client.IsUnixSocket;
            if (isUnix)
            {
                (addr, port) = ("unix", config.ListenPort);
            }
            var server = client.Server;
            string shown, socket;
            long waitUs = 0;
            if (loggingIn)
            {
                (shown, socket) = ("login", "cl_login");
            }
            else if (state == ClientState.Waiting)
            {
                (shown, socket) = ("waiting", "cl_waiting");
                if (client.WaitStartTimestamp != 0)
                {
                    waitUs = Math.Max(0, time.GetElapsedTime(client.WaitStartTimestamp).Ticks / TimeSpan.TicksPerMicrosecond);
                }
            }
            else
            {
                // 1.25: an active client with no server linked is shown as "idle".
                (shown, socket) = (server is null ? "idle" : "active", "cl_active");
            }
            var connect = AdminFormat.WallClock(time, client.ConnectTimestamp);
            var request = client.WaitStartTimestamp != 0 ? AdminFormat.WallClock(time, client.WaitStartTimestamp) : connect;
            var parameters = client.Parameters;
            var appName = appIndex >= 0 && appIndex < parameters.Length ? parameters[appIndex] ?? "" : "";
            rows.Add((client.Id, new Row(
                "C", user ?? "(nouser)", database ?? "(nodb)", shown, socket,
                addr, port, isUnix ? "unix" : listenAddr, isUnix ? config.ListenPort : listenPort,
                connect, request, waitUs,
                ClientPtr(client.Id), server is null ? "" : ServerPtr(server.Id), 0, TlsInfo(client.Connection), appName, client.Id,
                client.Replication.ShowName())));
        }

        foreach (var session in ctx.State.Consoles.Values)
        {
            var client = session.Client;
            var socketHandle = session.Socket;
            string? addr = null, localAddr = null;
            int? port = null, localPort = null;
            var remotePid = 0;
            if (client.IsUnixSocket)
            {
                (addr, port, localAddr, localPort) = ("unix", config.ListenPort, "unix", config.ListenPort);
                if (socketHandle is not null && PeerCredentials.TryGet(socketHandle, out var pid, out _, out _))
                {
                    remotePid = pid;
                }
            }
            else if (socketHandle is not null)
            {
                (addr, port) = Describe(SafeEndPoint(socketHandle, remote: true));
                (localAddr, localPort) = Describe(SafeEndPoint(socketHandle, remote: false));
            }
            var connect = AdminFormat.WallClock(time, client.ConnectTimestamp);
            var requestTs = Volatile.Read(ref session.RequestTimestamp);
            var request = requestTs != 0 ? AdminFormat.WallClock(time, requestTs) : connect;
            var busy = session.Busy;
            rows.Add((client.Id, new Row(
                "C", session.User, ShowPools.AdminDatabase, busy ? "active" : "idle", "cl_active",
                addr, port, localAddr, localPort, connect, request, 0,
                ClientPtr(client.Id), "", remotePid, TlsInfo(client.Connection), "", client.Id)));
        }

        rows.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return rows.ConvertAll(r => r.Row);
    }

    private static List<Row> ServerRows(AdminContext ctx)
    {
        var time = ctx.Pooler.Time;
        var appIndex = ctx.Pooler.Tracked.IndexOf("application_name");
        var rows = new List<Row>();
        foreach (var pool in ctx.SortedPools())
        {
            var servers = pool.SnapshotServers();
            Array.Sort(servers, static (a, b) => a.Id.CompareTo(b.Id));
            foreach (var server in servers)
            {
                var (shown, socket) = server.State switch
                {
                    ServerState.Active => ("active", "sv_active"),
                    ServerState.Idle => ("idle", "sv_idle"),
                    ServerState.Internal => ("tested", "sv_tested"),
                    ServerState.Login => ("new", "sv_login"),
                    _ => (null, null),
                };
                if (shown is null || socket is null)
                {
                    continue;
                }
                string? addr, localAddr = null;
                int? port, localPort = null;
                if (server.ConnectEndPoint is UnixDomainSocketEndPoint)
                {
                    (addr, port, localAddr, localPort) = ("unix", pool.Database.Port, "unix", pool.Database.Port);
                }
                else
                {
                    (addr, port) = Describe(server.ConnectEndPoint);
                }
                var client = server.Client;
                var connect = AdminFormat.WallClock(time, server.ConnectTimestamp);
                var request = server.IdleSinceTimestamp != 0 ? AdminFormat.WallClock(time, server.IdleSinceTimestamp) : connect;
                var parameters = server.Parameters;
                var appName = appIndex >= 0 && appIndex < parameters.Length ? parameters[appIndex] ?? "" : "";
                rows.Add(new Row(
                    "S", pool.Key.User, pool.Key.Database, shown, socket,
                    addr, port, localAddr, localPort, connect, request, 0,
                    ServerPtr(server.Id), client is null ? "" : ClientPtr(client.Id), server.BackendProcessId, TlsInfo(server.Connection), appName, server.Id,
                    server.Replication.ShowName()));
            }
        }
        return rows;
    }

    /// <summary>
    /// The local side of a client's TCP socket is not exposed by ClientConnection; the listeners tell the port,
    /// and the address when there is exactly one specific one (a wildcard bind leaves it unknown: NULL).
    /// </summary>
    private static (string? Addr, int? Port) ListenAddress(AdminContext ctx)
    {
        var tcp = ctx.Pooler.Endpoints.OfType<IPEndPoint>().ToList();
        if (tcp.Count == 0)
        {
            return (null, null);
        }
        var ports = tcp.Select(e => e.Port).Distinct().ToList();
        int? port = ports.Count == 1 ? ports[0] : null;
        var addresses = tcp.Where(e => !e.Address.Equals(IPAddress.Any) && !e.Address.Equals(IPAddress.IPv6Any)).ToList();
        return (tcp.Count == 1 && addresses.Count == 1 ? addresses[0].Address.ToString() : null, port);
    }

    /// <summary>Splits a client's log prefix <c>C-n: db/user@addr:port</c> into user and remote address.</summary>
    internal static (string? User, string? Addr, int? Port) ParsePeer(string peer, string? database)
    {
        var colon = peer.IndexOf(": ", StringComparison.Ordinal);
        var rest = colon >= 0 ? peer[(colon + 2)..] : peer;
        var at = rest.LastIndexOf('@');
        string? user = null;
        var remote = rest;
        if (at >= 0)
        {
            var dbUser = rest[..at];
            remote = rest[(at + 1)..];
            if (database is not null && dbUser.StartsWith(database + "/", StringComparison.Ordinal))
            {
                user = dbUser[(database.Length + 1)..];
            }
            else if (dbUser.IndexOf('/') is var slash and >= 0)
            {
                user = dbUser[(slash + 1)..];
            }
        }
        if (IPEndPoint.TryParse(remote, out var endPoint))
        {
            var (addr, port) = Describe(endPoint);
            return (user, addr, port);
        }
        return (user, remote == "unix" ? "unix" : null, null);
    }

    /// <summary>The tls column: protocol/cipher like PgBouncer's, empty for a plain connection.</summary>
    private static string TlsInfo(Connection connection) => connection is TlsConnection tls ? tls.Description : "";

    private static EndPoint? SafeEndPoint(Socket socket, bool remote)
    {
        try
        {
            return remote ? socket.RemoteEndPoint : socket.LocalEndPoint;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return null;
        }
    }

    private static (string? Addr, int? Port) Describe(EndPoint? endPoint) => endPoint switch
    {
        IPEndPoint ip => ((ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address).ToString(), ip.Port),
        UnixDomainSocketEndPoint => ("unix", null),
        _ => (null, null),
    };
}
