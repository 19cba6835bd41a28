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
    /// The login was refused (the server's ErrorResponse, or a secret Sluice cannot log in with), not merely
    /// unreachable: the clients waiting for this pool would fail the same way, so they are given this error
    /// instead of waiting for the next attempt. A server that could not be reached leaves them waiting, as in
    /// PgBouncer (query_wait_timeout ends the wait).
    /// </summary>
    public bool IsRefusal { get; init; }

    /// <summary>The failure was already logged where it happened, in PgBouncer's words.</summary>
    public bool IsLogged { get; init; }
}
