namespace Sluice.Auth;

/// <summary>Why a <see cref="ScramServerExchange"/> step failed, which decides the SQLSTATE the client gets.</summary>
public enum ScramFailure
{
    /// <summary>No step has failed.</summary>
    None,

    /// <summary>The message does not follow RFC 5802 or contradicts the chosen mechanism: 08P01, as in PostgreSQL.</summary>
    Malformed,

    /// <summary>
    /// Channel binding was refused: a "y" flag although SCRAM-SHA-256-PLUS was offered (a downgrade), or a
    /// binding that is not the one of this TLS connection: 28000, as in PostgreSQL.
    /// </summary>
    ChannelBinding,

    /// <summary>Wrong nonce or proof, or a user that does not exist: 28P01 (password authentication failed).</summary>
    Authentication,
}
