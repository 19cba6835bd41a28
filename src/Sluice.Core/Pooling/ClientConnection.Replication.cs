using Sluice.Config;
using Sluice.Diagnostics;
using Sluice.Protocol;
using Sluice.Transport;

namespace Sluice.Pooling;

/// <summary>
/// Replication clients (<c>replication=database|true</c>): PostgreSQL's walsender protocol (IDENTIFY_SYSTEM,
/// START_REPLICATION with CopyBoth, BASE_BACKUP) only works over one backend for the whole session, opened with
/// the same startup parameter. So the client gets a server of its own at login, in session semantics whatever the
/// pool mode; the server counts in the pool's limits and is closed, never pooled, when the client leaves.
/// </summary>
internal sealed partial class ClientConnection
{
    /// <summary>What the client's startup packet asked for; <see cref="ReplicationMode.None"/> for ordinary clients.</summary>
    public ReplicationMode Replication { get; private set; }

    /// <summary>A replication client's <c>options</c>, passed to its server as they came (CREATE SUBSCRIPTION sets extra_float_digits there).</summary>
    public string? ReplicationOptions { get; private set; }

    /// <summary>
    /// Opens the client's own server, then welcomes the client with that server's parameters. The tracked
    /// parameters go in the server's startup packet: a physical walsender refuses SET.
    /// </summary>
    private async Task<byte[]?> FinishReplicationLoginAsync(Pool pool, PoolerConfig config, StartupPacket startup, LoginReader reader, ReadOnlyMemory<byte> authReply,
        List<string>? unsupportedProtocolOptions, CancellationToken token)
    {
        PoolMode = PoolMode.Session;
        _trackStatements = false;
        _trackSessionState = false;
        InitParameters(pool, startup);
        if (config.ApplicationNameAddHost)
        {
            AddHostToApplicationName();
        }

        ServerConnection server;
        try
        {
            server = await pool.AcquireReplicationAsync(this).ConfigureAwait(false);
        }
        catch (ServerLoginException e)
        {
            LeaveAfterFailedReplicationLogin(pool, e.Error.Message);
            Disconnect(e.Error.Message, e.Error.SqlState);
            return null;
        }
        // From here the cleanup closes the server whatever happens to the client.
        _server = server;
        if (_closed != 0)
        {
            LeaveAfterFailedReplicationLogin(pool, _closeReason ?? "client close request");
            return null;
        }
        var serverValues = server.Parameters;
        for (var i = 0; i < Parameters.Length && i < serverValues.Length; i++)
        {
            Parameters[i] = serverValues[i] ?? Parameters[i];
        }
        (CancelProcessId, CancelSecretKey) = Pooler.Cancels.Register(this);
        var welcome = new WelcomeParameters(server.StartupParameters, Pooler.Tracked);
        await SendWelcomeAsync(pool, config, authReply, unsupportedProtocolOptions, startup.MinorVersion, token, welcome).ConfigureAwait(false);
        return reader.Leftover.ToArray();
    }

    /// <summary>
    /// The client had joined its pool before its server failed: it leaves it and says why, as a logged-in client
    /// would. Logged before the client is told, so whoever reads the log after seeing the error finds the line.
    /// </summary>
    private void LeaveAfterFailedReplicationLogin(Pool pool, string reason)
    {
        pool.ClientLeft();
        // Through the once-per-client logger: the Disconnect that follows would log the line again otherwise.
        _closeReason ??= reason;
        LogClosing();
    }

    /// <summary>A replication server belongs to its client alone: it goes with it, whatever state the stream was in.</summary>
    private void CloseReplicationServer(ServerConnection server)
    {
        server.TryUnlink(this, out _);
        server.Close("replication client disconnected");
    }
}
