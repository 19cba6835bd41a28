using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sluice.Diagnostics;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Pooling;

/// <summary>
/// Maps the BackendKeyData Sluice gave each client to that client, so a CancelRequest (which arrives on a
/// new connection) reaches the server the client is using at that moment.
/// </summary>
internal sealed class CancelRegistry(ILogger logger, Func<TimeSpan> waitTimeout)
{
    private readonly ConcurrentDictionary<long, ClientConnection> _clients = new();

    public (int ProcessId, int SecretKey) Register(ClientConnection client)
    {
        while (true)
        {
            // Cancel keys come from the cryptographic RNG: they must not be guessable. PgBouncer clears the top
            // bit so the "pid" looks like a positive process id to clients.
            var pid = Auth.SecureRandom.NextInt32() & 0x7FFFFFFF;
            var key = Auth.SecureRandom.NextInt32();
            if (pid != 0 && _clients.TryAdd(Combine(pid, key), client))
            {
                return (pid, key);
            }
        }
    }

    public void Remove(ClientConnection client) =>
        _clients.TryRemove(new KeyValuePair<long, ClientConnection>(Combine(client.CancelProcessId, client.CancelSecretKey), client));

    public async Task ForwardAsync(int processId, int secretKey)
    {
        if (!_clients.TryGetValue(Combine(processId, secretKey), out var client))
        {
            Log.CancelDropped(logger, "no client with that key");
            return;
        }
        var server = client.Server;
        if (server is null || !server.TryBeginCancel(client))
        {
            Log.CancelDropped(logger, "cancel request for idle client");
            return;
        }
        var endPoint = server.ConnectEndPoint;
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, endPoint.AddressFamily == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        try
        {
            var wait = waitTimeout();
            using var timeout = new CancellationTokenSource(wait > TimeSpan.Zero ? wait : Timeout.InfiniteTimeSpan);
            await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            var b = new MessageBuilder(16);
            FrontendMessages.WriteCancelRequest(b, server.BackendProcessId, server.BackendSecretKey);
            await socket.SendAsync(b.Written, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            // PostgreSQL closes the connection once it has processed the request.
            await socket.ReceiveAsync(new byte[1], SocketFlags.None, timeout.Token).ConfigureAwait(false);
            Log.CancelForwarded(logger, server.Peer);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            Log.CancelDropped(logger, e.Message);
        }
        finally
        {
            socket.CloseQuietly();
            server.EndCancel();
        }
    }

    private static long Combine(int pid, int key) => ((long)pid << 32) | (uint)key;
}
