using Sluice.Protocol;

namespace Sluice.Pooling;

/// <summary>
/// A pool's server parameters as every client login replays them, worked out once per pool: which tracked
/// parameter each one is, the server's value of each tracked parameter, and each ParameterStatus message already
/// encoded. A login then copies bytes and encodes only the parameters its client set to other values.
/// </summary>
internal sealed class WelcomeParameters
{
    public WelcomeParameters(IReadOnlyList<KeyValuePair<string, string>> serverParameters, TrackedParameters tracked)
    {
        Tracked = tracked;
        Parameters = serverParameters;
        TrackedIndex = new int[serverParameters.Count];
        Encoded = new byte[serverParameters.Count][];
        ServerValues = tracked.NewValues();
        var b = new MessageBuilder(64);
        for (var i = 0; i < serverParameters.Count; i++)
        {
            var (name, value) = serverParameters[i];
            var index = tracked.IndexOf(name);
            TrackedIndex[i] = index;
            if (index >= 0)
            {
                ServerValues[index] = value;
            }
            b.Clear();
            BackendMessages.WriteParameterStatus(b, name, value);
            Encoded[i] = b.Written.ToArray();
        }
    }

    /// <summary>The tracked-parameter list this was worked out for; a reload that changes it makes a new one.</summary>
    public TrackedParameters Tracked { get; }

    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; }

    /// <summary>Per server parameter, its index in <see cref="Tracked"/>, or -1.</summary>
    public int[] TrackedIndex { get; }

    /// <summary>Per server parameter, its ParameterStatus message with the server's value.</summary>
    public byte[][] Encoded { get; }

    /// <summary>Per tracked parameter, the server's value (null when the server does not report it).</summary>
    public string?[] ServerValues { get; }

    /// <summary>Writes every ParameterStatus, with the client's own value where it set one that differs.</summary>
    public void Write(MessageBuilder b, string?[] clientValues)
    {
        for (var i = 0; i < Encoded.Length; i++)
        {
            var index = TrackedIndex[i];
            if (index >= 0 && clientValues[index] is { } own && !string.Equals(own, Parameters[i].Value, StringComparison.Ordinal))
            {
                BackendMessages.WriteParameterStatus(b, Parameters[i].Key, own);
            }
            else
            {
                b.WriteBytes(Encoded[i]);
            }
        }
    }
}
