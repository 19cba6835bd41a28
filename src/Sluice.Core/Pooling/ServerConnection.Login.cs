using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Sluice.Auth;
using Sluice.Config;
using Sluice.Diagnostics;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Pooling;

internal sealed partial class ServerConnection
{
    /// <summary>
    /// Opens a connection to the pool's database and logs in as the pool's user; with <paramref name="replicationFor"/>,
    /// a walsender for that client alone.
    /// </summary>
    public static async Task<ServerConnection> ConnectAsync(Pool pool, string? host, ClientConnection? replicationFor = null)
    {
        var pooler = pool.Pooler;
        var config = pooler.Config;
        var port = pool.Database.Port;
        using var timeout = new CancellationTokenSource(config.ServerConnectTimeout > TimeSpan.Zero ? config.ServerConnectTimeout : Timeout.InfiniteTimeSpan, pooler.Time);
        var token = timeout.Token;

        Connection connection;
        string peer;
        EndPoint endPoint;
        try
        {
            (connection, peer, endPoint) = await OpenSocketAsync(host, port, config, token).ConfigureAwait(false);
        }
        catch (SocketException e) when (IsLookupFailure(e))
        {
            // PgBouncer logs the server slot it had made for the attempt as closed, with this reason.
            Log.ServerClosing(pooler.Logger, $"S-?: {pool.Key}@{host}:{port}", DnsLookupFailed, 0);
            throw new ServerLoginException(new ErrorFields("FATAL", SqlState.ConnectionFailure, DnsLookupFailed));
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            var what = e is OperationCanceledException ? "connect timeout" : e.Message;
            if (e is OperationCanceledException && config.LogDisconnections)
            {
                Diagnostics.Log.ServerClosing(pooler.Logger, $"S-?: {pool.Key}", "connect timeout", (long)config.ServerConnectTimeout.TotalSeconds);
            }
            throw new ServerLoginException(new ErrorFields("FATAL", SqlState.ConnectionFailure, $"server connection failed: {what}"));
        }
        var socket = connection.Socket;
        var server = new ServerConnection(pool, connection, $"{pool.Key}@{peer}")
        {
            ConnectEndPoint = endPoint,
            Replication = replicationFor?.Replication ?? ReplicationMode.None,
        };
        if (config.LogConnections)
        {
            LogNewConnection(server, socket, pooler.Logger);
        }
        try
        {
            // server_tls_sslmode: SSLRequest and TLS handshake before the StartupMessage (Transport/TlsHandshake.cs).
            if (await TlsHandshake.ConnectToServerAsync(connection, pooler.Tls, host, token).ConfigureAwait(false) is { } tls)
            {
                server._connection = tls;
            }
            await server.LoginAsync(token, replicationFor).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            server.DisposeSocketOnly();
            if (e is ServerLoginException)
            {
                throw;
            }
            var what = e is OperationCanceledException ? "server login timeout" : "server login failed: " + e.Message;
            if (e is OperationCanceledException && config.LogDisconnections)
            {
                // PgBouncer's janitor line: server_connect_timeout covers the login as well as the connect.
                Diagnostics.Log.ServerClosing(pooler.Logger, server.Peer, "connect timeout", (long)pooler.Time.GetElapsedTime(server.ConnectTimestamp).TotalSeconds);
            }
            // Not a refusal (a timeout, a hang-up, a broken login message): the waiting clients stay queued for the retry.
            throw new ServerLoginException(new ErrorFields("FATAL", SqlState.ConnectionFailure, what));
        }
        if (pool.Settings.Mode != Config.PoolMode.Session && config.MaxPreparedStatements > 0 && replicationFor is null)
        {
            server.EnableStatementTracking();
        }
        server.StartReading();
        return server;
    }

    private static async Task<(Connection Connection, string Peer, EndPoint EndPoint)> OpenSocketAsync(string? host, int port, PoolerConfig config, CancellationToken token)
    {
        var unixSocketDir = config.UnixSocketDir;
        if (string.IsNullOrEmpty(host) || host.StartsWith('/') || host.StartsWith('@'))
        {
            var dir = string.IsNullOrEmpty(host) ? (string.IsNullOrEmpty(unixSocketDir) ? "/tmp" : unixSocketDir) : host;
            var path = dir.StartsWith('@') ? "\0" + dir[1..] + $"/.s.PGSQL.{port}" : Path.Combine(dir, $".s.PGSQL.{port}");
            var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            var unixEndPoint = new UnixDomainSocketEndPoint(path);
            Connection connected;
            try
            {
                connected = await IoEngine.ConnectAsync(unix, unixEndPoint, token).ConfigureAwait(false);
            }
            catch
            {
                unix.Dispose();
                throw;
            }
            return (connected, $"unix:{path}", unixEndPoint);
        }

        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, token).ConfigureAwait(false);
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var tcp = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                // Before connect: a receive buffer shrunk (tcp_socket_buffer) after the handshake keeps the window
                // scale agreed for the default size, and a sender with a backlog then stalls on a window that never
                // reopens (a walsender streaming WAL did, for good).
                tcp.ConfigureTcp(config);
                var ipEndPoint = new IPEndPoint(address, port);
                var connected = await IoEngine.ConnectAsync(tcp, ipEndPoint, token).ConfigureAwait(false);
                return (connected, address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]:{port}" : $"{address}:{port}", ipEndPoint);
            }
            catch (SocketException e)
            {
                tcp.Dispose();
                last = e;
            }
            catch
            {
                tcp.Dispose();
                throw;
            }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    private async Task LoginAsync(CancellationToken token, ClientConnection? replicationFor)
    {
        var pool = Pool;
        var db = pool.Database;
        var startup = new List<KeyValuePair<string, string>>
        {
            new("user", pool.ServerUser),
            new("database", pool.DatabaseName),
        };
        AddIfSet(startup, "client_encoding", db.ClientEncoding);
        AddIfSet(startup, "datestyle", db.DateStyle);
        AddIfSet(startup, "timezone", db.TimeZone);
        AddIfSet(startup, "application_name", db.ApplicationName);
        if (replicationFor is not null)
        {
            AddReplicationParameters(startup, replicationFor);
        }

        var b = new MessageBuilder();
        FrontendMessages.WriteStartup(b, startup);
        await SendAsync(b.Written, token).ConfigureAwait(false);

        var reader = new LoginReader(_connection, 1 << 20);
        ScramClientExchange? scram = null;
        var parameters = new List<KeyValuePair<string, string>>();
        while (true)
        {
            var (ok, code, body) = await reader.ReadTypedAsync(token).ConfigureAwait(false);
            if (!ok)
            {
                throw new ServerLoginException(new ErrorFields("FATAL", SqlState.ConnectionFailure, "server closed the connection during login"));
            }
            switch (code)
            {
                case BackendCode.Authentication:
                    scram = await AnswerAuthenticationAsync(body, scram, b, token).ConfigureAwait(false);
                    break;
                case BackendCode.ParameterStatus:
                    var (name, value) = ParseParameterStatus(body);
                    parameters.Add(new(name, value));
                    RememberParameter(name, value);
                    break;
                case BackendCode.BackendKeyData when body.Length >= 8:
                    BackendProcessId = BinaryPrimitives.ReadInt32BigEndian(body);
                    BackendSecretKey = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(4));
                    break;
                case BackendCode.ErrorResponse when Replication != ReplicationMode.None:
                    throw ReplicationLoginFailed(ErrorFields.Parse(body));
                case BackendCode.ErrorResponse:
                    throw RefusedByServer(ErrorFields.Parse(body));
                case BackendCode.NoticeResponse:
                case BackendCode.NegotiateProtocolVersion:
                    break;
                case BackendCode.ReadyForQuery:
                    StartupParameters = parameters;
                    if (!reader.Leftover.IsEmpty)
                    {
                        throw new ServerLoginException(new ErrorFields("FATAL", SqlState.ProtocolViolation, "server sent data after ReadyForQuery"));
                    }
                    if (!string.IsNullOrEmpty(db.ConnectQuery))
                    {
                        await RunLoginQueryAsync(reader, db.ConnectQuery, b, token).ConfigureAwait(false);
                    }
                    return;
                default:
                    throw new ServerLoginException(new ErrorFields("FATAL", SqlState.ProtocolViolation, $"unexpected message '{(char)code}' during server login"));
            }
        }
    }

    /// <summary>connect_query runs once after login; its errors are logged and ignored, as in PgBouncer.</summary>
    private async Task RunLoginQueryAsync(LoginReader reader, string sql, MessageBuilder b, CancellationToken token)
    {
        b.Clear();
        FrontendMessages.WriteQuery(b, sql);
        await SendAsync(b.Written, token).ConfigureAwait(false);
        while (true)
        {
            var (ok, code, body) = await reader.ReadTypedAsync(token).ConfigureAwait(false);
            if (!ok)
            {
                throw new ServerLoginException(new ErrorFields("FATAL", SqlState.ConnectionFailure, "server closed the connection during connect_query"));
            }
            if (code == BackendCode.ParameterStatus)
            {
                var (name, value) = ParseParameterStatus(body);
                RememberParameter(name, value);
            }
            else if (code == BackendCode.ErrorResponse)
            {
                Diagnostics.Log.ServerConnectFailed(Pool.Pooler.Logger, Peer, "connect_query failed: " + ErrorFields.Parse(body).Message);
            }
            else if (code == BackendCode.ReadyForQuery)
            {
                return;
            }
        }
    }

    private async Task<ScramClientExchange?> AnswerAuthenticationAsync(byte[] body, ScramClientExchange? scram, MessageBuilder b, CancellationToken token)
    {
        var request = (AuthRequest)BinaryPrimitives.ReadInt32BigEndian(body);
        var data = body.AsSpan(4);
        b.Clear();
        switch (request)
        {
            case AuthRequest.Ok:
                return scram;
            case AuthRequest.CleartextPassword:
                FrontendMessages.WritePassword(b, Encoding.UTF8.GetBytes(RequirePlainPassword("cleartext")));
                break;
            case AuthRequest.Md5Password:
            {
                var secret = ServerSecret();
                string source = secret switch
                {
                    PlainSecret plain => plain.Password,
                    Md5Secret md5 => md5.Hash,
                    _ => throw WrongPasswordType("cannot do MD5 authentication with a SCRAM secret"),
                };
                Span<byte> response = stackalloc byte[35];
                Md5Auth.ComputeResponse(source, Pool.ServerUser, data[..4], response);
                FrontendMessages.WritePassword(b, response);
                break;
            }
            case AuthRequest.Sasl:
            {
                if (!Encoding.ASCII.GetString(data).Split('\0').Contains("SCRAM-SHA-256"))
                {
                    throw LoginError("server offered no supported SASL mechanism");
                }
                scram = ServerSecret() switch
                {
                    PlainSecret plain => ScramClientExchange.ForPassword(plain.Password),
                    ScramSecret stored when Pool.ScramClientKey is { } clientKey => ScramClientExchange.ForPassThrough(clientKey, stored),
                    ScramSecret => throw WrongPasswordType("cannot do SCRAM authentication: password is SCRAM secret but client authentication did not provide SCRAM keys"),
                    _ => throw WrongPasswordType("cannot do SCRAM authentication with an md5 secret"),
                };
                FrontendMessages.WriteSaslInitialResponse(b, "SCRAM-SHA-256", scram.CreateClientFirst());
                break;
            }
            case AuthRequest.SaslContinue:
            {
                if (scram is null || !scram.TryHandleServerFirst(data, out var clientFinal, out var error))
                {
                    throw LoginError("SCRAM exchange with the server failed: " + (scram is null ? "unexpected SASLContinue" : "server-first rejected"));
                }
                _ = error;
                FrontendMessages.WriteSaslResponse(b, clientFinal);
                break;
            }
            case AuthRequest.SaslFinal:
                if (scram is null || !scram.VerifyServerFinal(data, out _))
                {
                    throw LoginError("SCRAM exchange with the server failed: invalid server signature");
                }
                return scram;
            default:
                throw LoginError($"unsupported server authentication method {(int)request}");
        }
        await SendAsync(b.Written, token).ConfigureAwait(false);
        return scram;
    }

    /// <summary>The password of the pool's user: the database entry's password= for a forced user, else auth_file.</summary>
    private PasswordSecret ServerSecret()
    {
        var db = Pool.Database;
        if (!string.IsNullOrEmpty(db.User) && !string.IsNullOrEmpty(db.Password))
        {
            return PasswordSecret.Parse(db.Password);
        }
        if (Pool.Pooler.AuthFile.TryGet(Pool.ServerUser, out var secret))
        {
            return secret;
        }
        if (Pool.DynamicSecret is { } dynamic)
        {
            return dynamic;
        }
        throw LoginError($"no password for user \"{Pool.ServerUser}\" in auth_file or the database entry");
    }

    private string RequirePlainPassword(string method) =>
        ServerSecret() is PlainSecret plain ? plain.Password : throw LoginError($"server asked for {method} password but only a hashed secret is known");

    private static ServerLoginException LoginError(string message) =>
        new(new ErrorFields("FATAL", SqlState.InvalidPassword, message)) { IsRefusal = true };

    private static void AddIfSet(List<KeyValuePair<string, string>> list, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            list.Add(new(key, value));
        }
    }

    internal static (string Name, string Value) ParseParameterStatus(ReadOnlySpan<byte> body)
    {
        var nameEnd = body.IndexOf((byte)0);
        if (nameEnd < 0)
        {
            return ("", "");
        }
        var rest = body[(nameEnd + 1)..];
        var valueEnd = rest.IndexOf((byte)0);
        return (Encoding.UTF8.GetString(body[..nameEnd]), Encoding.UTF8.GetString(valueEnd < 0 ? rest : rest[..valueEnd]));
    }
}
