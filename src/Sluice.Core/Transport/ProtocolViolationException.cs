namespace Sluice.Transport;

/// <summary>The peer sent bytes that are not a valid PostgreSQL message.</summary>
internal sealed class ProtocolViolationException(string message) : Exception(message);
