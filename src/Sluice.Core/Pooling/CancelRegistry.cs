using System.Collections.Concurrent;
using System.Net;
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
internal sealed class CancelRegistry(ILogger logger, Func<TimeSpan> waitTimeout, Func<Config.PoolerConfig>? config = null)
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
            if (PeerId is var peerId and > 0)
            {
                (pid, key) = PeerCancelKey.Stamp(pid, key, peerId);
            }
            if (pid != 0 && _clients.TryAdd(Combine(pid, key), client))
            {
                return (pid, key);
            }
        }
    }

    public void Remove(ClientConnection client) =>
        _clients.TryRemove(new KeyValuePair<long, ClientConnection>(Combine(client.CancelProcessId, client.CancelSecretKey), client));

    private int PeerId => config?.Invoke().PeerId ?? 0;

    public async Task ForwardAsync(int processId, int secretKey)
    {
        if (PeerId is var ownId and > 0)
        {
            var issuer = PeerCancelKey.PeerOf(processId);
            if (issuer != ownId)
            {
                await ForwardToPeerAsync(issuer, processId, secretKey).ConfigureAwait(false);
                return;
            }
            // Keys are stored with a full TTL; a request that was passed on has fewer hops left.
            secretKey |= PeerCancelKey.TtlMask;
        }
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
        var b = new MessageBuilder(16);
        FrontendMessages.WriteCancelRequest(b, server.BackendProcessId, server.BackendSecretKey);
        try
        {
            await SendCancelAsync(server.ConnectEndPoint, b, server.Peer).ConfigureAwait(false);
        }
        finally
        {
            server.EndCancel();
        }
    }

    /// <summary>
    /// The key was issued by peer <paramref name="peerId"/>: the CancelRequest goes on to it, one hop fewer,
    /// as PgBouncer's peering does.
    /// </summary>
    private async Task ForwardToPeerAsync(int peerId, int processId, int secretKey)
    {
        if (PeerCancelKey.TtlOf(secretKey) == 0)
        {
            Log.CancelDropped(logger, "failed to forward cancel request because its TTL was exhausted");
            return;
        }
        if (config?.Invoke().Peers.GetValueOrDefault(peerId) is not { } peer)
        {
            Log.CancelDropped(logger, "could not find peer to forward request to");
            return;
        }
        EndPoint endPoint;
        if (peer.Host.StartsWith('/') || peer.Host.StartsWith('@'))
        {
            var path = peer.Host.StartsWith('@') ? "\0" + peer.Host[1..] + $"/.s.PGSQL.{peer.Port}" : Path.Combine(peer.Host, $".s.PGSQL.{peer.Port}");
            endPoint = new UnixDomainSocketEndPoint(path);
        }
        else if (IPAddress.TryParse(peer.Host, out var address))
        {
            endPoint = new IPEndPoint(address, peer.Port);
        }
        else
        {
            endPoint = new DnsEndPoint(peer.Host, peer.Port);
        }
        var b = new MessageBuilder(16);
        FrontendMessages.WriteCancelRequest(b, processId, secretKey - 1);
        await SendCancelAsync(endPoint, b, $"peer {peerId}").ConfigureAwait(false);
    }

    /// <summary>Opens a connection, sends the CancelRequest and waits for the other side to close it.</summary>
    private async Task SendCancelAsync(EndPoint endPoint, MessageBuilder request, string target)
    {
        try
        {
            var wait = waitTimeout();
            using var timeout = new CancellationTokenSource(wait > TimeSpan.Zero ? wait : Timeout.InfiniteTimeSpan);
            await CancelDialer.SendAndAwaitCloseAsync(endPoint, request.Written, timeout.Token).ConfigureAwait(false);
            Log.CancelForwarded(logger, target);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Log.CancelDropped(logger, e.Message);
        }
    }

    private static long Combine(int pid, int key) => ((long)pid << 32) | (uint)key;
}
