using Sluice.Protocol;

namespace Sluice.Pooling;

public sealed class WelcomeParametersTests
{
    private static readonly KeyValuePair<string, string>[] ServerParameters =
    [
        new("application_name", ""),
        new("client_encoding", "UTF8"),
        new("server_version", "15.8"),
        new("TimeZone", "UTC"),
    ];

    [Fact]
    public void KnowsTheServerValueOfEachTrackedParameter()
    {
        var tracked = new TrackedParameters([]);

        var welcome = new WelcomeParameters(ServerParameters, tracked);

        Assert.Equal("UTF8", welcome.ServerValues[tracked.IndexOf("client_encoding")]);
        Assert.Equal("UTC", welcome.ServerValues[tracked.IndexOf("timezone")]);
        Assert.Null(welcome.ServerValues[tracked.IndexOf("DateStyle")]);
        Assert.Equal(-1, welcome.TrackedIndex[2]);   // server_version is reported, not tracked
    }

    [Fact]
    public void WritesTheSameBytesAsEncodingEachParameter_WithTheClientsOwnValuesInPlace()
    {
        var tracked = new TrackedParameters([]);
        var welcome = new WelcomeParameters(ServerParameters, tracked);
        var client = (string?[])welcome.ServerValues.Clone();
        client[tracked.IndexOf("application_name")] = "pgbench";

        var written = new MessageBuilder(16);
        welcome.Write(written, client);

        var expected = new MessageBuilder(16);
        BackendMessages.WriteParameterStatus(expected, "application_name", "pgbench");
        BackendMessages.WriteParameterStatus(expected, "client_encoding", "UTF8");
        BackendMessages.WriteParameterStatus(expected, "server_version", "15.8");
        BackendMessages.WriteParameterStatus(expected, "TimeZone", "UTC");
        Assert.Equal(expected.Written.ToArray(), written.Written.ToArray());
    }

    [Fact]
    public void ServerValuesAreACopyPerLogin_NotSharedWithTheClient()
    {
        var tracked = new TrackedParameters([]);
        var welcome = new WelcomeParameters(ServerParameters, tracked);
        var first = (string?[])welcome.ServerValues.Clone();
        first[tracked.IndexOf("client_encoding")] = "LATIN1";

        var written = new MessageBuilder(16);
        welcome.Write(written, welcome.ServerValues);

        Assert.Equal("UTF8", welcome.ServerValues[tracked.IndexOf("client_encoding")]);
        Assert.True(written.Written.Span.IndexOf("UTF8"u8) >= 0);
        Assert.True(written.Written.Span.IndexOf("LATIN1"u8) < 0);
    }
}
