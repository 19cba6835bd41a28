using System.Text;
using Sluice.Auth;

namespace Sluice.Fuzz;

/// <summary>
/// The SCRAM-SHA-256 server side of a login: client-first-message then client-final-message through one
/// ScramServerExchange with a fixed server nonce (so a corpus file replays the same exchange), against the
/// stored secret of password "pencil" (salt and iterations of RFC 7677, whose example exchange is in the corpus).
/// Input: "client-first\0client-final" (no NUL: only client-first). The exchange documents that malformed
/// input returns false and never throws, so nothing is caught.
/// </summary>
public sealed class ScramTarget : FuzzTarget
{
    /// <summary>The fixed server half of the nonce; the corpus's valid final messages are computed with it.</summary>
    public const string ServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

    private static readonly ScramSecret Secret =
        ScramSecret.FromPassword("pencil", Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);

    public override string Name => "scram";

    public override string Covers => "ScramServerExchange client-first/client-final parsing and proof check";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var zero = input.IndexOf((byte)0);
        var first = zero < 0 ? input : input[..zero];
        var exchange = new ScramServerExchange(Secret, ServerNonce);
        if (!exchange.TryHandleClientFirst(first, out var serverFirst, out var error))
        {
            Check(error is not null && serverFirst.Length == 0, "failed client-first without an error");
            return;
        }
        var serverFirstText = Encoding.UTF8.GetString(serverFirst);
        Check(serverFirstText.StartsWith("r=", StringComparison.Ordinal) && serverFirstText.Contains(ServerNonce + ",s=", StringComparison.Ordinal),
            "server-first does not carry the combined nonce");
        if (zero < 0)
        {
            return;
        }
        if (exchange.TryHandleClientFinal(input[(zero + 1)..], out var serverFinal, out error))
        {
            Check(error is null && serverFinal.AsSpan().StartsWith("v="u8), "server-final is not v=…");
            Check(exchange.RecoveredClientKey is { Length: 32 }, "no 32-byte ClientKey after success");
        }
        else
        {
            Check(error is not null && exchange.RecoveredClientKey is null, "failed client-final without an error, or with a key");
        }
    }
}
