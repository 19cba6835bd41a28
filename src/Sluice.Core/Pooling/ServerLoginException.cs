using Sluice.Protocol;

namespace Sluice.Pooling;

/// <summary>
/// A server could not be reached or refused the login. Carries the error clients are given: the server's own
/// SQLSTATE and text when it sent one, as PgBouncer relays them (Npgsql relies on 3D000, 28P01…).
/// </summary>
internal sealed class ServerLoginException(ErrorFields error) : Exception(error.Message)
{
    public ErrorFields Error { get; } = error;
}
