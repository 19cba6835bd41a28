using Sluice.Protocol;

namespace Sluice.Pooling;

/// <summary>
/// A server could not be reached or refused the login. Carries the error clients are given: the server's own
/// SQLSTATE and text when it sent one, as PgBouncer relays them (Npgsql relies on 3D000, 28P01…).
/// </summary>
internal sealed class ServerLoginException(ErrorFields error) : Exception(error.Message)
{
    public ErrorFields Error { get; } = error;

    /// <summary>
    /// A failure of the connection rather than an answer of the server (a failed TLS handshake): PgBouncer keeps
    /// the waiting clients queued and retries, so they see their own timeout, not this error.
    /// </summary>
    public bool KeepsClientsWaiting { get; init; }
}
