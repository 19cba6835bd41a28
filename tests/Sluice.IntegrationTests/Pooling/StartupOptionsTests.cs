using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Pooling;

/// <summary>The "options" startup parameter (PGOPTIONS): -c settings of tracked parameters apply, others are refused or ignored.</summary>
[Collection(PostgresCollection.Name)]
public sealed class StartupOptionsTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    [Fact]
    public async Task TrackedSettings_InOptions_AreAppliedLikeStartupParameters()
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("default_pool_size", 1));
        await using var conn = await host.OpenAsync(tweak: b => b.Options = @"-c timezone=Europe/Lisbon  --datestyle=German,\ YMD");
        Assert.Equal("Europe/Lisbon", await conn.ScalarAsync<string>("SHOW TimeZone"));
        Assert.Equal("German, YMD", await conn.ScalarAsync<string>("SHOW DateStyle"));

        // The one server now carries those values; a plain client sharing it must not see them.
        await using var plain = await host.OpenAsync();
        Assert.NotEqual("Europe/Lisbon", await plain.ScalarAsync<string>("SHOW TimeZone"));
    }

    [Theory]
    [InlineData("-d 5")]
    [InlineData("-c timezone")]
    public async Task AnythingButSettings_IsRefused(string options)
    {
        await using var host = await TestPooler.StartAsync(Pg, output);
        var error = await Assert.ThrowsAnyAsync<PostgresException>(() => host.OpenAsync(tweak: b => b.Options = options));
        Assert.Equal("unsupported options startup parameter: only '-c config=val' and '--config=val' are allowed", error.MessageText);
    }

    [Fact]
    public async Task UntrackedSetting_IsRefused_UnlessOptionsIsIgnored()
    {
        await using (var strict = await TestPooler.StartAsync(Pg, output))
        {
            var error = await Assert.ThrowsAnyAsync<PostgresException>(() => strict.OpenAsync(tweak: b => b.Options = "-c enable_seqscan=off"));
            Assert.Equal("unsupported startup parameter in options: enable_seqscan", error.MessageText);
        }

        await using var lenient = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("ignore_startup_parameters", "options"));
        await using var conn = await lenient.OpenAsync(tweak: b => b.Options = "-c enable_seqscan=off -c timezone=Europe/Lisbon");
        Assert.Equal("on", await conn.ScalarAsync<string>("SHOW enable_seqscan"));
        Assert.Equal("Europe/Lisbon", await conn.ScalarAsync<string>("SHOW TimeZone"));
    }
}
