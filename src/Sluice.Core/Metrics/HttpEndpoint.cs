using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Sluice.Hosting;
using Sluice.Transport;

namespace Sluice.Metrics;

/// <summary>
/// The optional HTTP side port (stats_listen_addr / stats_listen_port, off by default): /metrics in Prometheus
/// text format, /healthz (the process answers) and /readyz (listening, not paused, not shutting down).
/// A deliberately tiny HTTP/1.1 responder: one request per connection, bounded request size, no keep-alive.
/// </summary>
internal sealed class HttpEndpoint : IDisposable
{
    private const int MaxRequestBytes = 8192;
    private readonly Pooler _pooler;
    private readonly Socket _listener;

    private HttpEndpoint(Pooler pooler, Socket listener)
    {
        _pooler = pooler;
        _listener = listener;
    }

    public EndPoint LocalEndPoint => _listener.LocalEndPoint!;

    public static HttpEndpoint? Start(Pooler pooler)
    {
        var config = pooler.Config;
        if (config.StatsListenPort <= 0 && string.IsNullOrEmpty(config.StatsListenAddr))
        {
            return null;
        }
        var address = string.IsNullOrEmpty(config.StatsListenAddr) || config.StatsListenAddr == "*"
            ? IPAddress.Any
            : IPAddress.Parse(config.StatsListenAddr);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(address, Math.Max(0, config.StatsListenPort)));
        socket.Listen(64);
        var endpoint = new HttpEndpoint(pooler, socket);
        Diagnostics.Log.Listening(pooler.Logger, "http://" + socket.LocalEndPoint + " (metrics, health)");
        _ = endpoint.AcceptLoopAsync();
        return endpoint;
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var buffer = new byte[MaxRequestBytes];
            var filled = 0;
            while (buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) < 0)
            {
                if (filled == buffer.Length)
                {
                    await RespondAsync(client, 431, "text/plain", "request too large\n", timeout.Token).ConfigureAwait(false);
                    return;
                }
                var n = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }
                filled += n;
            }
            var requestLine = Encoding.ASCII.GetString(buffer, 0, buffer.AsSpan(0, filled).IndexOf("\r\n"u8));
            var parts = requestLine.Split(' ');
            var path = parts.Length >= 2 ? parts[1].Split('?')[0] : "";
            if (parts[0] != "GET" && parts[0] != "HEAD")
            {
                await RespondAsync(client, 405, "text/plain", "method not allowed\n", timeout.Token).ConfigureAwait(false);
                return;
            }
            var (status, type, body) = path switch
            {
                "/metrics" => (200, "text/plain; version=0.0.4; charset=utf-8", PrometheusText.Render(_pooler)),
                "/healthz" => (200, "text/plain", "ok\n"),
                "/readyz" => _pooler.IsReady ? (200, "text/plain", "ready\n") : (503, "text/plain", ReadinessReason() + "\n"),
                _ => (404, "text/plain", "not found\n"),
            };
            await RespondAsync(client, status, type, parts[0] == "HEAD" ? "" : body, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A scraper that went away; nothing to answer.
        }
        finally
        {
            client.CloseQuietly();
        }
    }

    private string ReadinessReason() => _pooler.IsShuttingDown ? "shutting down" : _pooler.IsPaused ? "paused" : "not listening";

    private static async Task RespondAsync(Socket client, int status, string contentType, string body, CancellationToken token)
    {
        var payload = Encoding.UTF8.GetBytes(body);
        var reason = status switch { 200 => "OK", 404 => "Not Found", 405 => "Method Not Allowed", 431 => "Request Header Fields Too Large", _ => "Service Unavailable" };
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {payload.Length}\r\nConnection: close\r\n\r\n");
        await client.SendAsync(head, SocketFlags.None, token).ConfigureAwait(false);
        if (payload.Length > 0)
        {
            await client.SendAsync(payload, SocketFlags.None, token).ConfigureAwait(false);
        }
    }

    public void Dispose() => _listener.Dispose();
}
