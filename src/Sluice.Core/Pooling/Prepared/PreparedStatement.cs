namespace Sluice.Pooling.Prepared;

/// <summary>
/// One distinct statement (query text and parameter types), shared by every client that prepares the same
/// text under whatever name. Servers know it by <see cref="ServerName"/>.
/// </summary>
internal sealed class PreparedStatement(long id, byte[] parseTail)
{
    public long Id { get; } = id;

    /// <summary>"SLUICE_&lt;id&gt;\0": the name on every server, unique for the process.</summary>
    public byte[] ServerName { get; } = System.Text.Encoding.ASCII.GetBytes($"SLUICE_{id}\0");

    /// <summary>The Parse body after the statement name: query text, parameter count and type OIDs.</summary>
    public byte[] ParseTail { get; } = parseTail;
}
