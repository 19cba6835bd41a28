using System.Runtime.CompilerServices;

namespace Sluice.Auth;

/// <summary>The eight working words of SHA-256 between blocks (FIPS 180-4 §6.2), on the stack or inside a key.</summary>
[InlineArray(8)]
internal struct Sha256State
{
    private uint _word;
}
