using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Sluice.Config;

namespace Sluice.Transport;

/// <summary>
/// What a runtime change of the TLS settings does to the setup built from them: which changes replace the servers
/// (<see cref="TlsContexts.ServerSideDiffersFrom"/>), what SET may leave half done without an error, and the words
/// the log uses for refused ciphers and certificates.
/// </summary>
public sealed class TlsSetupChangeTests : IDisposable
{
    private static readonly X509Certificate2 Ca = TlsTestCertificates.CreateCa("Change Test CA");
    private static readonly X509Certificate2 OtherCa = TlsTestCertificates.CreateCa("Other Change CA");
    private static readonly X509Certificate2 ServerCert = TlsTestCertificates.Issue(Ca, "localhost", ["localhost"], [IPAddress.Loopback]);
    private static readonly X509Certificate2 ClientCert = TlsTestCertificates.Issue(Ca, "bouncer", server: false);

    private readonly string _dir = Directory.CreateTempSubdirectory("sluice-tls-change-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ServerSide_SameSettings_AreNoChange_AndClientSettingsDoNotCount()
    {
        var ca = WriteCa("ca.crt", Ca);
        var (cert, key) = TlsTestCertificates.WritePem(_dir, "client", ClientCert);
        var server = $"server_tls_sslmode = verify-ca\nserver_tls_ca_file = {ca}\nserver_tls_cert_file = {cert}\nserver_tls_key_file = {key}";
        var (ccert, ckey) = TlsTestCertificates.WritePem(_dir, "server", ServerCert);

        var before = TlsContexts.For(Load(server));
        Assert.False(before.ServerSideDiffersFrom(TlsContexts.For(Load(server))));
        Assert.False(before.ServerSideDiffersFrom(TlsContexts.For(Load(server + $"\nclient_tls_sslmode = require\nclient_tls_cert_file = {ccert}\nclient_tls_key_file = {ckey}"))));
        Assert.False(TlsContexts.For(Load("server_tls_sslmode = disable")).ServerSideDiffersFrom(TlsContexts.For(Load("server_tls_sslmode = disable\nserver_tls_protocols = tlsv1.3"))));
    }

    [Theory]
    [InlineData("server_tls_sslmode = require")]
    [InlineData("server_tls_sslmode = disable")]
    [InlineData("server_tls_protocols = tlsv1.3")]
    [InlineData("server_tls13_ciphers = TLS_AES_256_GCM_SHA384")]
    [InlineData("server_tls_ciphers = HIGH")]
    [InlineData("server_tls_cert_file = ")]
    public void ServerSide_AnyServerSettingChanged_IsAChange(string change)
    {
        var ca = WriteCa("ca.crt", Ca);
        var (cert, key) = TlsTestCertificates.WritePem(_dir, "client", ClientCert);
        var server = $"server_tls_sslmode = verify-ca\nserver_tls_ca_file = {ca}\nserver_tls_cert_file = {cert}\nserver_tls_key_file = {key}";

        var before = TlsContexts.For(Load(server));
        Assert.True(before.ServerSideDiffersFrom(TlsContexts.For(Load(server + "\n" + change))));
    }

    [Fact]
    public void ServerSide_CaFileRewrittenInPlace_IsAChange()
    {
        var ca = WriteCa("ca.crt", Ca);
        var settings = $"server_tls_sslmode = verify-ca\nserver_tls_ca_file = {ca}";
        var before = TlsContexts.For(Load(settings));
        WriteCa("ca.crt", OtherCa);
        Assert.True(before.ServerSideDiffersFrom(TlsContexts.For(Load(settings))));
    }

    [Fact]
    public void ServerSide_CertificateWithoutItsKey_IsNoErrorAndPresentsNothing()
    {
        var (cert, key) = TlsTestCertificates.WritePem(_dir, "client", ClientCert);
        var keyOnly = TlsContexts.For(Load($"server_tls_sslmode = require\nserver_tls_key_file = {key}"));
        Assert.Null(keyOnly.ServerError);
        Assert.Null(keyOnly.ForServer("localhost").ClientCertificateContext);

        var certOnly = TlsContexts.For(Load($"server_tls_sslmode = require\nserver_tls_cert_file = {cert}"));
        Assert.Null(certOnly.ServerError);

        var both = TlsContexts.For(Load($"server_tls_sslmode = require\nserver_tls_cert_file = {cert}\nserver_tls_key_file = {key}"));
        Assert.NotNull(both.ForServer("localhost").ClientCertificateContext);
    }

    [Fact]
    public void ClientSide_CertificateWithAnotherPairsKey_IsAnError()
    {
        var (cert, _) = TlsTestCertificates.WritePem(_dir, "server", ServerCert);
        var (_, otherKey) = TlsTestCertificates.WritePem(_dir, "client", ClientCert);
        var mixed = TlsContexts.For(Load($"client_tls_sslmode = require\nclient_tls_cert_file = {cert}\nclient_tls_key_file = {otherKey}"));
        Assert.NotNull(mixed.ClientError);
        Assert.Contains(otherKey, mixed.ClientError);
    }

    [Fact]
    public void UnknownTls13Cipher_UsesTheWordsOfPgBouncersLog()
    {
        var (cert, key) = TlsTestCertificates.WritePem(_dir, "server", ServerCert);
        var contexts = TlsContexts.For(Load($"client_tls_sslmode = require\nclient_tls_cert_file = {cert}\nclient_tls_key_file = {key}\nclient_tls13_ciphers = unknown"));
        Assert.Contains("failed to set the TLSv1.3 cipher suites", contexts.ClientError);
        Assert.Contains("\"unknown\"", contexts.ClientError);
    }

    [Fact]
    public void ServerCertificateCheck_SaysWhyItRefused()
    {
        var wrongCa = new ServerCertificateCheck(TlsMode.VerifyCa, [OtherCa], "localhost");
        Assert.False(wrongCa.Validate(this, ServerCert, null, SslPolicyErrors.None));
        Assert.Contains("server_tls_ca_file", wrongCa.Failure);

        var wrongHost = new ServerCertificateCheck(TlsMode.VerifyFull, [Ca], "db.example.com");
        Assert.False(wrongHost.Validate(this, ServerCert, null, SslPolicyErrors.None));
        Assert.Contains("db.example.com", wrongHost.Failure);

        var none = new ServerCertificateCheck(TlsMode.VerifyCa, [Ca], "localhost");
        Assert.False(none.Validate(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
        Assert.Contains("no certificate", none.Failure);

        var fine = new ServerCertificateCheck(TlsMode.VerifyFull, [Ca], "localhost");
        Assert.True(fine.Validate(this, ServerCert, null, SslPolicyErrors.None));
        Assert.Null(fine.Failure);
    }

    [Fact]
    public void ForServer_OfABrokenSetup_StillThrows()
    {
        var broken = TlsContexts.For(Load("server_tls_sslmode = require\nserver_tls_ca_file = /nonexistent/ca.pem"));
        Assert.Throws<AuthenticationException>(() => broken.ForServer("localhost", out _));
    }

    private string WriteCa(string name, X509Certificate2 ca)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, TlsTestCertificates.CertificatePem(ca));
        return path;
    }

    private static PoolerConfig Load(string settings) => ConfigLoader.LoadText("[pgbouncer]\n" + settings + "\n");
}
