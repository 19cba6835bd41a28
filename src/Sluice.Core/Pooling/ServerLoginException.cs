using Sluice.Protocol;

namespace Sluice.Pooling;

/// <summary>
/// A server could not be reached or refused the login. Carries the error clients are given: the server's own
/// SQLSTATE and text when it sent one, as PgBouncer relays them (Npgsql relies on 3D000, 28P01…).
/// </summary>
internal sealed class ServerLoginException(ErrorFields error, bool transient = false) : Exception(error.Message)
{
    public ErrorFields Error { get; } = error;

    /// <summary>
    /// The server could not be reached, timed out, hung up, or said "cannot connect now" (57P03): as in PgBouncer,
    /// the clients already waiting keep waiting for the retry after server_login_retry instead of getting the error.
    /// </summary>
    public bool Transient { get; } = transient || error.SqlState == SqlState.CannotConnectNow;
}
