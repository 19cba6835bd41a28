using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Sluice.Config;

namespace Sluice.Transport;

public sealed class TlsContextsTests : IDisposable
{
    private static readonly X509Certificate2 Ca = TlsTestCertificates.CreateCa("Sluice Test CA");
    private static readonly X509Certificate2 OtherCa = TlsTestCertificates.CreateCa("Some Other CA");
    private static readonly X509Certificate2 ServerCert = TlsTestCertificates.Issue(Ca, "localhost", ["localhost"], [IPAddress.Loopback]);
    private static readonly X509Certificate2 ClientCert = TlsTestCertificates.Issue(Ca, "alice", server: false);
    private static readonly X509Certificate2 ForeignClientCert = TlsTestCertificates.Issue(OtherCa, "alice", server: false);

    private readonly string _dir = Directory.CreateTempSubdirectory("sluice-tls-unit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

#pragma warning disable SYSLIB0039 // the parser must still name the old protocols
    [Theory]
    [InlineData("secure", SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData("default", SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData("", SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData("all", SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData("legacy", SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData("tlsv1.2", SslProtocols.Tls12)]
    [InlineData("tlsv1.3", SslProtocols.Tls13)]
    [InlineData("tlsv1.2,tlsv1.3", SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData("tlsv1.0:tlsv1.1", SslProtocols.Tls | SslProtocols.Tls11)]
    [InlineData("all,!tlsv1.0,-tlsv1.1", SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData("TLSv1.3", SslProtocols.Tls13)]
    public void Protocols_ParseLikeLibtls(string text, SslProtocols expected)
    {
        Assert.True(TlsContexts.TryParseProtocols(text, out var protocols, out var error), error);
        Assert.Equal(expected, protocols);
    }
#pragma warning restore SYSLIB0039

    [Theory]
    [InlineData("sslv3")]
    [InlineData("tlsv1.4")]
    [InlineData("-all")]
    public void Protocols_Invalid_AreErrors(string text)
    {
        Assert.False(TlsContexts.TryParseProtocols(text, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Tls13Ciphers_KnownNamesMakeAPolicy_UnknownAreErrors()
    {
        Assert.True(TlsContexts.TryParseCiphers("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", SslProtocols.Tls13, out var policy, out _));
        Assert.NotNull(policy);
        Assert.True(TlsContexts.TryParseCiphers(null, SslProtocols.Tls13, out policy, out _));
        Assert.Null(policy);
        Assert.False(TlsContexts.TryParseCiphers("TLS_AES_512_FANCY", SslProtocols.Tls13, out _, out var error));
        Assert.Contains("TLS_AES_512_FANCY", error);
    }

    [Fact]
    public void ServerCertificate_BelowVerifyCa_AnythingGoes()
    {
        foreach (var mode in new[] { TlsMode.Allow, TlsMode.Prefer, TlsMode.Require })
        {
            Assert.True(TlsContexts.CheckServerCertificate(mode, Coll(Ca), "elsewhere", ForeignClientCert, null, SslPolicyErrors.RemoteCertificateChainErrors));
            Assert.True(TlsContexts.CheckServerCertificate(mode, null, "elsewhere", null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
        }
    }

    [Fact]
    public void ServerCertificate_VerifyCa_ChecksTheChainOnly()
    {
        Assert.True(TlsContexts.CheckServerCertificate(TlsMode.VerifyCa, Coll(Ca), "not-the-name", ServerCert, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(TlsContexts.CheckServerCertificate(TlsMode.VerifyCa, Coll(OtherCa), "localhost", ServerCert, null, SslPolicyErrors.None));
        Assert.False(TlsContexts.CheckServerCertificate(TlsMode.VerifyCa, Coll(Ca), "localhost", null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
    }

    [Fact]
    public void ServerCertificate_VerifyFull_ChecksTheHostNameToo()
    {
        Assert.True(TlsContexts.CheckServerCertificate(TlsMode.VerifyFull, Coll(Ca), "localhost", ServerCert, null, SslPolicyErrors.None));
        Assert.True(TlsContexts.CheckServerCertificate(TlsMode.VerifyFull, Coll(Ca), "127.0.0.1", ServerCert, null, SslPolicyErrors.None));
        Assert.False(TlsContexts.CheckServerCertificate(TlsMode.VerifyFull, Coll(Ca), "db.example.com", ServerCert, null, SslPolicyErrors.None));
        Assert.False(TlsContexts.CheckServerCertificate(TlsMode.VerifyFull, Coll(OtherCa), "localhost", ServerCert, null, SslPolicyErrors.None));
    }

    [Fact]
    public void ClientCertificate_CheckedAgainstTheCaWheneverSent()
    {
        Assert.True(TlsContexts.CheckClientCertificate(Coll(Ca), null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
        Assert.True(TlsContexts.CheckClientCertificate(Coll(Ca), ClientCert, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(TlsContexts.CheckClientCertificate(Coll(Ca), ForeignClientCert, null, SslPolicyErrors.None));
        Assert.False(TlsContexts.CheckClientCertificate(Coll(OtherCa), ClientCert, null, SslPolicyErrors.None));
    }

    [Fact]
    public void LoginRequirement_TlsFromRequire_CertificateFromVerifyCa()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var plain = new SocketConnection(socket);
        Assert.Null(TlsContexts.LoginRequirementError(plain, TlsMode.Disable));
        Assert.Null(TlsContexts.LoginRequirementError(plain, TlsMode.Prefer));
        Assert.Equal("SSL required", TlsContexts.LoginRequirementError(plain, TlsMode.Require));
        Assert.Equal("SSL required", TlsContexts.LoginRequirementError(plain, TlsMode.VerifyFull));
        Assert.Equal("TLS connection required for certificate authentication", TlsContexts.CertificateUserError(plain, "alice"));
    }

    [Fact]
    public void CommonName_IsTheSubjectCn()
    {
        Assert.Equal("alice", TlsContexts.CommonName(ClientCert));
        Assert.Equal("localhost", TlsContexts.CommonName(ServerCert));
    }

    [Fact]
    public void ClientOptions_FollowTheMode_AndAreCachedPerConfigSnapshot()
    {
        var (cert, key) = TlsTestCertificates.WritePem(_dir, "server", ServerCert);
        var ca = Path.Combine(_dir, "ca.crt");
        File.WriteAllText(ca, TlsTestCertificates.CertificatePem(Ca));

        Assert.Null(TlsContexts.ForClients(Load("client_tls_sslmode = disable")));

        var missing = Load("client_tls_sslmode = prefer");
        Assert.Null(TlsContexts.ForClients(missing));
        Assert.Contains("client_tls_cert_file", TlsContexts.For(missing).ClientError);

        var prefer = Load($"client_tls_sslmode = prefer\nclient_tls_cert_file = {cert}\nclient_tls_key_file = {key}");
        var options = TlsContexts.ForClients(prefer)!;
        Assert.NotNull(options.ServerCertificateContext);
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, options.EnabledSslProtocols);
        Assert.Equal([TlsContexts.Alpn], options.ApplicationProtocols!);
        Assert.False(options.ClientCertificateRequired);
        Assert.Same(options, TlsContexts.ForClients(prefer));

        // RELOAD builds a new snapshot, which re-reads the files.
        var reloaded = Load($"client_tls_sslmode = prefer\nclient_tls_cert_file = {cert}\nclient_tls_key_file = {key}");
        Assert.NotSame(options, TlsContexts.ForClients(reloaded));

        var verify = TlsContexts.ForClients(Load($"client_tls_sslmode = verify-ca\nclient_tls_cert_file = {cert}\nclient_tls_key_file = {key}\nclient_tls_ca_file = {ca}\nclient_tls_protocols = tlsv1.3"))!;
        Assert.True(verify.ClientCertificateRequired);
        Assert.Equal(SslProtocols.Tls13, verify.EnabledSslProtocols);

        var certAuth = TlsContexts.ForClients(Load($"client_tls_sslmode = require\nauth_type = cert\nclient_tls_cert_file = {cert}\nclient_tls_key_file = {key}"))!;
        Assert.True(certAuth.ClientCertificateRequired);

        Assert.Contains("invalid TLS protocol", TlsContexts.For(Load($"client_tls_sslmode = prefer\nclient_tls_cert_file = {cert}\nclient_tls_key_file = {key}\nclient_tls_protocols = sslv3")).ClientError);
        Assert.Contains("cannot load", TlsContexts.For(Load($"client_tls_sslmode = prefer\nclient_tls_cert_file = {cert}\nclient_tls_key_file = {ca}")).ClientError);
    }

    [Fact]
    public void ServerOptions_VerifyFullNamesTheHost_AndCarryTheClientCertificate()
    {
        var (cert, key) = TlsTestCertificates.WritePem(_dir, "client", ClientCert);
        var contexts = TlsContexts.For(Load($"server_tls_sslmode = verify-full\nserver_tls_cert_file = {cert}\nserver_tls_key_file = {key}"));
        Assert.Null(contexts.ServerError);
        var options = contexts.ForServer("db.internal");
        Assert.Equal("db.internal", options.TargetHost);
        Assert.NotNull(options.ClientCertificateContext);
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, options.EnabledSslProtocols);

        var broken = TlsContexts.For(Load("server_tls_sslmode = require\nserver_tls_ca_file = /nonexistent/ca.pem"));
        Assert.NotNull(broken.ServerError);
        Assert.Throws<AuthenticationException>(() => broken.ForServer("localhost"));
        Assert.Single(TlsContexts.Validate(Load("server_tls_sslmode = require\nserver_tls_ca_file = /nonexistent/ca.pem")));
    }

    [Fact]
    public async Task TlsConnection_IdleWaitHoldsNoDataUntilSomethingArrives()
    {
        var (cert, key) = TlsTestCertificates.WritePem(_dir, "server", ServerCert);
        var serverOptions = TlsContexts.ForClients(Load($"client_tls_sslmode = require\nclient_tls_cert_file = {cert}\nclient_tls_key_file = {key}"))!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await clientSocket.ConnectAsync(listener.LocalEndPoint!);
        var serverSocket = await listener.AcceptAsync();

        var accept = TlsConnection.AcceptAsync(serverSocket, serverOptions, timeout.Token);
        var clientOptions = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [TlsContexts.Alpn],
            RemoteCertificateValidationCallback = (_, c, chain, errors) => TlsContexts.CheckServerCertificate(TlsMode.VerifyFull, Coll(Ca), "localhost", c, chain, errors),
        };
        var connect = TlsConnection.ConnectAsync(clientSocket, clientOptions, timeout.Token);
        var server = await accept;
        var client = await connect;
        try
        {
            Assert.True(server.IsTls);
            Assert.Equal(TlsContexts.Alpn, server.ApplicationProtocol);
            Assert.StartsWith("TLSv1.", server.Description);
            Assert.Null(server.RemoteCertificate);
            Assert.Equal("localhost", TlsContexts.CommonName(client.RemoteCertificate!));

            // The zero-byte wait really waits (TLS 1.3 session tickets travel the other way and do not wake it).
            var wait = server.WaitForDataAsync(timeout.Token).AsTask();
            await Task.WhenAny(wait, Task.Delay(300));
            Assert.False(wait.IsCompleted);

            // The other side too, where the session tickets arrive: they are consumed and the wait goes on.
            var clientWait = client.WaitForDataAsync(timeout.Token).AsTask();
            await Task.WhenAny(clientWait, Task.Delay(300));
            Assert.False(clientWait.IsCompleted);

            await client.SendAsync("hello"u8.ToArray(), timeout.Token);
            await wait.WaitAsync(timeout.Token);
            var buffer = new byte[16];
            var n = await server.ReceiveAsync(buffer, timeout.Token);
            Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(buffer, 0, n));

            await server.SendAsync("ok"u8.ToArray(), timeout.Token);
            await clientWait.WaitAsync(timeout.Token);
            Assert.Equal(2, await client.ReceiveAsync(buffer, timeout.Token));

            // Both directions, concurrent sends serialized.
            await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => server.SendAsync(new byte[1000], timeout.Token).AsTask()));
            var total = 0;
            while (total < 20_000)
            {
                total += await client.ReceiveAsync(new byte[4096], timeout.Token);
            }
            Assert.Equal(20_000, total);

            // The last words and a close: the peer reads them, then EOF.
            server.TrySendFinal("bye"u8);
            server.Close();
            server.TrySendFinal("ignored"u8);   // never throws
            n = await client.ReceiveAsync(buffer, timeout.Token);
            Assert.Equal("bye", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
            var eof = await ReceiveUntilEndAsync(client, timeout.Token);
            Assert.True(eof);
        }
        finally
        {
            client.Close();
            server.Close();
        }
    }

    private static async Task<bool> ReceiveUntilEndAsync(Connection connection, CancellationToken token)
    {
        try
        {
            return await connection.ReceiveAsync(new byte[16], token) == 0;
        }
        catch (SocketException)
        {
            return true;   // a reset is an end too; what matters is that it is a SocketException
        }
    }

    private static X509Certificate2Collection Coll(X509Certificate2 certificate) => [certificate];

    private static PoolerConfig Load(string settings) => ConfigLoader.LoadText("[pgbouncer]\n" + settings + "\n");
}
