using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Npgsql;
using Sluice.IntegrationTests.Hostile;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Transport;

/// <summary>
/// SCRAM-SHA-256-PLUS between clients and Sluice (tls-server-end-point over Sluice's own certificate): Npgsql and
/// psql with channel binding required, for a user whose auth_file entry is a SCRAM secret (the server login then
/// uses the ClientKey recovered from the bound proof) and one with a plain password; and a raw TLS client that
/// forges the binding, or claims the server cannot bind.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ChannelBindingTests(PostgresFixture fixture, TlsFixture tls, ITestOutputHelper output) : IClassFixture<TlsFixture>
{
    private PostgresInstance Pg => fixture.Postgres;

    private async Task<TestPooler> StartAsync(string clientMode = "require")
    {
        // scramuser with the SCRAM secret PostgreSQL stores (pass-through), app with its plain password.
        var secret = await Pg.GetScramSecretAsync(PostgresInstance.ScramUser)
            ?? throw new InvalidOperationException("scramuser has no SCRAM secret");
        return await TestPooler.StartAsync(Pg, output, ini => ini
                .Setting("auth_type", "scram-sha-256")
                .Setting("client_tls_sslmode", clientMode)
                .Setting("client_tls_cert_file", tls.ServerCertFile)
                .Setting("client_tls_key_file", tls.ServerKeyFile),
            users: [(PostgresInstance.ScramUser, secret), (PostgresInstance.AppUser, PostgresInstance.AppPassword)]);
    }

    [Theory]
    [InlineData(PostgresInstance.ScramUser, PostgresInstance.ScramPassword)]
    [InlineData(PostgresInstance.AppUser, PostgresInstance.AppPassword)]
    public async Task Npgsql_VerifyFull_ChannelBindingRequire_LogsIn(string user, string password)
    {
        await using var host = await StartAsync();

        for (var i = 0; i < 2; i++)
        {
            // Twice: the second login finds the pool open and its server logged in with the first one's key.
            await using var conn = await host.OpenAsync(user, password, tweak: b =>
            {
                b.Host = "localhost";
                b.SslMode = SslMode.VerifyFull;
                b.RootCertificate = tls.CaFile;
                b.ChannelBinding = ChannelBinding.Require;
            });
            Assert.Equal(user, await conn.ScalarAsync<string>("SELECT current_user::text"));
        }
    }

    [Theory]
    [InlineData(PostgresInstance.ScramUser, PostgresInstance.ScramPassword)]
    [InlineData(PostgresInstance.AppUser, PostgresInstance.AppPassword)]
    public async Task Psql_VerifyFull_ChannelBindingRequire_LogsIn(string user, string password)
    {
        await using var host = await StartAsync();

        var r = await ProcessRunner.RunAsync("psql",
            [$"host=localhost hostaddr=127.0.0.1 port={host.PortText} dbname={PostgresInstance.AppDatabase} user={user} sslmode=verify-full sslrootcert={tls.CaFile} channel_binding=require",
             "-X", "-A", "-t", "-c", "SELECT current_user::text || ' ' || (41 + 1)"],
            TimeSpan.FromSeconds(30),
            env: new Dictionary<string, string>
            {
                ["PGPASSWORD"] = password,
                ["PGCONNECT_TIMEOUT"] = "10",
                ["PGSSLCERT"] = "/nonexistent/postgresql.crt",
                ["PGSSLKEY"] = "/nonexistent/postgresql.key",
            });
        output.WriteLine(r.ToString());
        Assert.True(r.Success, r.ToString());
        Assert.Contains($"{user} 42", r.StdOut);
    }

    [Fact]
    public async Task Npgsql_ChannelBindingRequire_WithoutTls_FailsOnTheClientSide()
    {
        await using var host = await StartAsync("prefer");

        var e = await Assert.ThrowsAnyAsync<Exception>(() => host.OpenAsync(PostgresInstance.AppUser, PostgresInstance.AppPassword, tweak: b =>
        {
            b.SslMode = SslMode.Disable;
            b.ChannelBinding = ChannelBinding.Require;
        }));
        output.WriteLine(e.ToString());
        // Npgsql refuses to authenticate without binding; Sluice has nothing to say about it.
        Assert.IsNotType<PostgresException>(e);

        // Without TLS Sluice offers only SCRAM-SHA-256, and it still works for a client that does not insist.
        await using var conn = await host.OpenAsync(PostgresInstance.AppUser, PostgresInstance.AppPassword, tweak: b => b.SslMode = SslMode.Disable);
        Assert.Equal(42, await conn.ScalarAsync<int>("SELECT 41 + 1"));
    }

    [Fact]
    public async Task RawClient_TheRightBinding_LogsIn_AndPlusIsOfferedFirst()
    {
        await using var host = await StartAsync();
        await using var c = await TlsScramClient.ConnectAsync(host.Port, PostgresInstance.AppUser);

        Assert.Equal(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], c.Mechanisms);
        var o = await c.AuthenticateAsync("SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,", c.ServerEndPoint, PostgresInstance.AppPassword);
        output.WriteLine(o.ToString());
        Assert.True(o.LoggedIn, o.ToString());
        Assert.Contains(o.Messages, m => m.AuthCode == 12);
    }

    [Theory]
    [InlineData("another certificate")]
    [InlineData("the header alone")]
    public async Task RawClient_ForgedBinding_Fails28000_AndIsClosed(string forgery)
    {
        await using var host = await StartAsync();
        await using var c = await TlsScramClient.ConnectAsync(host.Port, PostgresInstance.AppUser);

        // What a client behind a TLS-terminating proxy would compute: the proof is right for the password.
        var data = forgery == "the header alone" ? [] : SHA256.HashData(Encoding.UTF8.GetBytes(forgery));
        var o = await c.AuthenticateAsync("SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,", data, PostgresInstance.AppPassword);
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "28000", "SCRAM channel binding check failed", host);
        Assert.DoesNotContain(o.Messages, m => m.AuthCode == 12);

        await using var conn = await host.OpenAsync(tweak: b => b.SslMode = SslMode.Require);
        Assert.Equal(42, await conn.ScalarAsync<int>("SELECT 41 + 1"));
    }

    [Fact]
    public async Task RawClient_YFlagOverTls_IsRefusedAsADowngrade()
    {
        await using var host = await StartAsync();
        await using var c = await TlsScramClient.ConnectAsync(host.Port, PostgresInstance.ScramUser);

        var o = await c.AuthenticateAsync("SCRAM-SHA-256", "y,,", [], PostgresInstance.ScramPassword);
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, "28000", "SCRAM channel binding negotiation error", host);
        Assert.Contains("does support channel binding", o.Error!.Fields.GetValueOrDefault('D'), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SCRAM-SHA-256-PLUS", "n,,", "08P01")]                       // -PLUS without binding data
    [InlineData("SCRAM-SHA-256", "p=tls-server-end-point,,", "08P01")]       // binding data without -PLUS
    public async Task RawClient_FlagAndMechanismDisagree_Fails08P01(string mechanism, string header, string sqlState)
    {
        await using var host = await StartAsync();
        await using var c = await TlsScramClient.ConnectAsync(host.Port, PostgresInstance.AppUser);

        var o = await c.AuthenticateAsync(mechanism, header, c.ServerEndPoint, PostgresInstance.AppPassword);
        output.WriteLine(o.ToString());
        HostileAssert.FatalThenClosed(o, sqlState, "malformed SCRAM message", host);
        Assert.Contains("channel binding", o.Error!.Fields.GetValueOrDefault('D'), StringComparison.Ordinal);
    }

    /// <summary>
    /// SSLRequest, TLS handshake (trusting any certificate, but keeping it: its hash is the binding a client
    /// computes), StartupMessage, then SCRAM by hand so the gs2 header and c= can be anything.
    /// </summary>
    private sealed class TlsScramClient : IAsyncDisposable
    {
        private readonly Socket _socket;
        private readonly SslStream _stream;
        private readonly PgReader _reader;

        private TlsScramClient(Socket socket, SslStream stream, byte[] serverEndPoint)
        {
            _socket = socket;
            _stream = stream;
            _reader = new PgReader(stream);
            ServerEndPoint = serverEndPoint;
        }

        /// <summary>SHA-256 of the certificate Sluice presented (the test certificates are ECDSA with SHA-256).</summary>
        public byte[] ServerEndPoint { get; }

        public List<string> Mechanisms { get; } = [];

        public static async Task<TlsScramClient> ConnectAsync(int port, string user)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var request = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(request, 8);
            BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(4), (1234 << 16) | 5679);
            await socket.SendAsync(request);
            var answer = new byte[1];
            Assert.Equal(1, await socket.ReceiveAsync(answer, SocketFlags.None, timeout.Token));
            Assert.Equal((byte)'S', answer[0]);

            byte[]? seen = null;
            var stream = new SslStream(new NetworkStream(socket, ownsSocket: false));
            await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    seen = certificate?.GetRawCertData();
                    return true;
                },
            }, timeout.Token);
            var client = new TlsScramClient(socket, stream, SHA256.HashData(seen!));
            await stream.WriteAsync(PgWire.Startup(("user", user), ("database", PostgresInstance.AppDatabase)), timeout.Token);
            var sasl = await client.ReadAsync() ?? throw new InvalidOperationException("EOF instead of AuthenticationSASL");
            Assert.Equal(10, sasl.AuthCode);
            foreach (var name in Encoding.ASCII.GetString(sasl.Body, 4, sasl.Body.Length - 4).Split('\0', StringSplitOptions.RemoveEmptyEntries))
            {
                client.Mechanisms.Add(name);
            }
            return client;
        }

        /// <summary>Runs SCRAM with the given mechanism, gs2 header and binding data; returns everything up to the close or ReadyForQuery.</summary>
        public async Task<Outcome> AuthenticateAsync(string mechanism, string gs2Header, byte[] bindingData, string password)
        {
            var outcome = new Outcome();
            var bare = "n=,r=" + ScramClient.NewNonce();
            await _stream.WriteAsync(PgWire.SaslInitial(mechanism, gs2Header + bare));
            var first = await ReadAsync();
            if (first is null)
            {
                outcome.Closed = true;
                return outcome;
            }
            outcome.Messages.Add(first);
            if (first.AuthCode == 11)
            {
                var serverFirst = Encoding.UTF8.GetString(first.Body, 4, first.Body.Length - 4);
                var (nonce, salt, iterations) = ScramClient.ParseServerFirst(serverFirst);
                var withoutProof = $"c={Convert.ToBase64String([.. Encoding.UTF8.GetBytes(gs2Header), .. bindingData])},r={nonce}";
                var proof = ScramClient.Proof(password, salt, iterations, bare, serverFirst, withoutProof);
                await _stream.WriteAsync(PgWire.SaslResponse($"{withoutProof},p={proof}"));
            }
            while (true)
            {
                var m = await ReadAsync();
                if (m is null)
                {
                    outcome.Closed = true;
                    return outcome;
                }
                outcome.Messages.Add(m);
                if (m.Type == 'Z')
                {
                    return outcome;
                }
            }
        }

        /// <summary>One backend message, or null at EOF.</summary>
        private async Task<PgMessage?> ReadAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            return await _reader.ReadMessageAsync(timeout.Token);
        }

        public async ValueTask DisposeAsync()
        {
            await _stream.DisposeAsync();
            _socket.Dispose();
        }
    }
}
