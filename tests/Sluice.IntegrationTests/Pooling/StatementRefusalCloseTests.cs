using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>
/// The server of a client refused for opening a transaction block in statement pooling is closed for that reason,
/// never as "client disconnected with query in progress": PgBouncer's suite fails any test whose log has that line.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class StatementRefusalCloseTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Refusal = "transaction blocks not allowed in statement pooling mode";

    private const int Rounds = 20;

    [Fact]
    public async Task RefusedTransactionBlock_ClosesTheServerForThatReason()
    {
        await using var host = await TestPooler.StartAsync(fixture.Postgres, output, ini => ini
            .Setting("pool_mode", "statement")
            .Setting("default_pool_size", 1)
            .Setting("log_disconnections", 1));

        // Several rounds: the two closes used to race, so one attempt could pass by luck.
        for (var i = 0; i < Rounds; i++)
        {
            await using var raw = await host.LoginOkAsync();
            var r = await raw.QueryAsync("BEGIN", TimeSpan.FromSeconds(5));
            Assert.Contains(Refusal, r.Error?.Message ?? "", StringComparison.Ordinal);
            Assert.True(await raw.WaitForCloseAsync(TimeSpan.FromSeconds(5)), "the client should be disconnected");
        }
        await host.AssertNextClientNotInTransactionAsync();

        var serverCloses = host.LogLines.Where(l => l.Contains("S-", StringComparison.Ordinal) && l.Contains("closing because", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(serverCloses, l => l.Contains("client disconnected with query in progress", StringComparison.Ordinal));
        Assert.Equal(Rounds, serverCloses.Count(l => l.Contains(Refusal, StringComparison.Ordinal)));
    }
}
