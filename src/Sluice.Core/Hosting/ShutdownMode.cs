namespace Sluice.Hosting;

/// <summary>How the pooler stops (PgBouncer's SHUTDOWN variants and signals).</summary>
public enum ShutdownMode
{
    /// <summary>SHUTDOWN, SIGQUIT, a second SIGINT/SIGTERM: close everything now.</summary>
    Immediate,
    /// <summary>SHUTDOWN WAIT_FOR_SERVERS, SIGINT: pause, exit once every server is released.</summary>
    WaitForServers,
    /// <summary>SHUTDOWN WAIT_FOR_CLIENTS, SIGTERM: stop accepting, exit once the last client left.</summary>
    WaitForClients,
}
