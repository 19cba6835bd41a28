using System.Net.Sockets;
using Sluice.Hosting;
using Sluice.Pooling;

namespace Sluice.Admin;

/// <summary>The virtual "pgbouncer" database (placeholder until the console lands).</summary>
internal static class AdminConsole
{
    public static Task RunAsync(Pooler pooler, ClientConnection client, Socket socket, string user, AdminAccessLevel access, byte[] leftover, CancellationToken token)
    {
        client.Disconnect("admin console not available yet", Protocol.SqlState.FeatureNotSupported);
        return Task.CompletedTask;
    }
}
