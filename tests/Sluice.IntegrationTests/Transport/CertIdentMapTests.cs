using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Transport;

/// <summary>
/// auth_type = hba with a cert rule that has map=: auth_ident_file says which certificate (by common name) may log
/// in as which user. A refusal tells the client only "certificate authentication failed" and logs why.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class CertIdentMapTests(PostgresFixture fixture, TlsFixture tls, ITestOutputHelper output) : IClassFixture<TlsFixture>
{
    private PostgresInstance Pg => fixture.Postgres;

    private Task<TestPooler> StartAsync()
    {
        var hba = tls.Dir.WriteFile("certmap-hba.conf", "hostssl all all 127.0.0.1/32 cert map=certs\n");
        // The client certificate's common name is "app"; it may be scramuser, not md5user (nor app itself).
        var ident = tls.Dir.WriteFile("certmap-ident.conf", $"certs {PostgresInstance.AppUser} {PostgresInstance.ScramUser}\n");
        return TestPooler.StartAsync(Pg, output, ini => ini
            .Setting("client_tls_sslmode", "require")
            .Setting("client_tls_cert_file", tls.ServerCertFile)
            .Setting("client_tls_key_file", tls.ServerKeyFile)
            .Setting("client_tls_ca_file", tls.CaFile)
            .Setting("auth_type", "hba")
            .Setting("auth_hba_file", hba)
            .Setting("auth_ident_file", ident));
    }

    private Task<NpgsqlConnection> OpenWithCertificateAsync(TestPooler host, string user) =>
        host.OpenAsync(user, password: null, tweak: b =>
        {
            b.SslMode = SslMode.Require;
            b.SslCertificate = tls.ClientCertFile;
            b.SslKey = tls.ClientKeyFile;
            b.GssEncryptionMode = GssEncryptionMode.Disable;
        });

    [Fact]
    public async Task MappedUser_LogsInWithoutPassword()
    {
        await using var host = await StartAsync();
        await using var conn = await OpenWithCertificateAsync(host, PostgresInstance.ScramUser);
        Assert.Equal(PostgresInstance.ScramUser, await conn.ScalarAsync<string>("SELECT current_user::text"));
    }

    [Theory]
    [InlineData(PostgresInstance.Md5User)]
    [InlineData(PostgresInstance.AppUser)]   // the common name itself is not enough once a map is named
    public async Task UserTheMapDoesNotAllow_CertificateAuthenticationFailed_ReasonLogged(string user)
    {
        await using var host = await StartAsync();
        var ex = await Assert.ThrowsAsync<PostgresException>(() => OpenWithCertificateAsync(host, user));
        Assert.Equal("28000", ex.SqlState);
        Assert.Equal("certificate authentication failed", ex.MessageText);
        Assert.Contains(host.LogLines, line => line.Contains($"/{user}@", StringComparison.Ordinal)
            && line.Contains("ident map: certs does not have a match", StringComparison.Ordinal));
    }
}
