using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Transport;

/// <summary>
/// TLS with real clients: psql 15 (libpq), Npgsql, and a raw SslStream for PostgreSQL 17's direct TLS; towards
/// servers, a second PostgreSQL with ssl = on that admits TCP logins only over TLS.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class TlsTests(PostgresFixture fixture, TlsFixture tls, ITestOutputHelper output) : IClassFixture<TlsFixture>
{
    private const string CheckSsl = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

    private PostgresInstance Pg => fixture.Postgres;

    private Task<TestPooler> StartAsync(string clientMode, Action<IniBuilder>? configure = null) =>
        TestPooler.StartAsync(Pg, output, ini =>
        {
            ini.Setting("client_tls_sslmode", clientMode)
                .Setting("client_tls_cert_file", tls.ServerCertFile)
                .Setting("client_tls_key_file", tls.ServerKeyFile)
                .Setting("client_tls_ca_file", tls.CaFile);
            configure?.Invoke(ini);
        });

    /// <summary>Runs psql with <c>\conninfo</c> (which names the TLS protocol when there is one) and <paramref name="sql"/>.</summary>
    private async Task<ProcessResult> PsqlAsync(TestPooler host, string options, string? password = PostgresInstance.AppPassword,
        string user = PostgresInstance.AppUser, string sql = "SELECT 41 + 1")
    {
        var env = new Dictionary<string, string>
        {
            ["PGCONNECT_TIMEOUT"] = "10",
            // No certificate from ~/.postgresql unless a test names one.
            ["PGSSLCERT"] = "/nonexistent/postgresql.crt",
            ["PGSSLKEY"] = "/nonexistent/postgresql.key",
            ["PGSSLROOTCERT"] = "/nonexistent/root.crt",
        };
        if (password is not null)
        {
            env["PGPASSWORD"] = password;
        }
        var conninfo = $"port={host.PortText} dbname={PostgresInstance.AppDatabase} user={user} {options}";
        if (!conninfo.Contains("host=", StringComparison.Ordinal))
        {
            conninfo += " host=127.0.0.1";
        }
        var r = await ProcessRunner.RunAsync("psql", [conninfo, "-X", "-A", "-t", "-c", "\\conninfo", "-c", sql], TimeSpan.FromSeconds(30), env: env);
        output.WriteLine($"psql {conninfo}: {r}");
        return r;
    }

    private static void AssertTls(ProcessResult r)
    {
        Assert.True(r.Success, r.ToString());
        Assert.Contains("SSL connection (protocol: TLSv1.3", r.StdOut);
        Assert.Contains("42", r.StdOut);
    }

    private static void AssertPlain(ProcessResult r)
    {
        Assert.True(r.Success, r.ToString());
        Assert.DoesNotContain("SSL connection", r.StdOut);
        Assert.Contains("42", r.StdOut);
    }

    [Fact]
    public async Task ClientDisable_AnswersN_RequireFails_PreferIsPlain()
    {
        await using var host = await StartAsync("disable");

        var required = await PsqlAsync(host, "sslmode=require");
        Assert.False(required.Success);
        Assert.Contains("server does not support SSL", required.StdErr);

        AssertPlain(await PsqlAsync(host, "sslmode=prefer"));
    }

    [Theory]
    [InlineData("allow")]
    [InlineData("prefer")]
    public async Task ClientAllowPrefer_TlsWhenAsked_PlainOtherwise(string mode)
    {
        await using var host = await StartAsync(mode);

        AssertTls(await PsqlAsync(host, "sslmode=require"));
        AssertTls(await PsqlAsync(host, "sslmode=prefer"));
        AssertPlain(await PsqlAsync(host, "sslmode=disable"));
    }

    [Fact]
    public async Task ClientRequire_PlainTcpRejected_UnixSocketExempt()
    {
        await using var host = await StartAsync("require");

        var plain = await PsqlAsync(host, "sslmode=disable");
        Assert.False(plain.Success);
        Assert.Contains("SSL required", plain.StdErr);

        AssertTls(await PsqlAsync(host, "sslmode=require"));

        // Unix sockets never do TLS and are not asked to.
        var unix = await PsqlAsync(host, $"host={host.SocketDir} sslmode=disable");
        Assert.True(unix.Success, unix.ToString());
        Assert.Contains("42", unix.StdOut);

        // Npgsql without TLS is refused with 28000, with TLS let in.
        var ex = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync(tweak: b => b.SslMode = SslMode.Disable));
        Assert.Equal("28000", ex.SqlState);
        Assert.Equal("SSL required", ex.MessageText);
        await using var conn = await host.OpenAsync(tweak: b => b.SslMode = SslMode.Require);
        Assert.Equal(42, await conn.ScalarAsync<int>("SELECT 41 + 1"));
    }

    [Theory]
    [InlineData("verify-ca")]
    [InlineData("verify-full")]
    public async Task ClientVerify_RequiresACertificateFromTheCa(string mode)
    {
        await using var host = await StartAsync(mode);

        // No certificate: TLS is set up, then the login is refused with a message, as PostgreSQL does.
        var without = await PsqlAsync(host, "sslmode=require");
        Assert.False(without.Success, without.ToString());
        Assert.Contains("connection requires a valid client certificate", without.StdErr);

        // A certificate from another CA fails the handshake itself.
        var foreign = await PsqlAsync(host, $"sslmode=require sslcert={tls.ForeignClientCertFile} sslkey={tls.ForeignClientKeyFile}");
        Assert.False(foreign.Success, foreign.ToString());
        Assert.DoesNotContain("42", foreign.StdOut);

        var plain = await PsqlAsync(host, "sslmode=disable");
        Assert.False(plain.Success);
        Assert.Contains("SSL required", plain.StdErr);

        AssertTls(await PsqlAsync(host, $"sslmode=require sslcert={tls.ClientCertFile} sslkey={tls.ClientKeyFile}"));

        // Sluice still works for the next client after the failed handshakes.
        await using var conn = await host.OpenAsync(tweak: b =>
        {
            b.SslMode = SslMode.Require;
            b.SslCertificate = tls.ClientCertFile;
            b.SslKey = tls.ClientKeyFile;
        });
        Assert.Equal(42, await conn.ScalarAsync<int>("SELECT 41 + 1"));
    }

    [Fact]
    public async Task Psql_VerifyFull_ChecksSluicesCertificateAndHostName()
    {
        await using var host = await StartAsync("require");

        AssertTls(await PsqlAsync(host, $"host=localhost hostaddr=127.0.0.1 sslmode=verify-full sslrootcert={tls.CaFile}"));
        // verify-ca checks the chain only, so the address is fine.
        AssertTls(await PsqlAsync(host, $"host=127.0.0.1 sslmode=verify-ca sslrootcert={tls.CaFile}"));

        // The certificate names "localhost" only: 127.0.0.1 is the wrong host name for verify-full.
        var wrongName = await PsqlAsync(host, $"host=127.0.0.1 sslmode=verify-full sslrootcert={tls.CaFile}");
        Assert.False(wrongName.Success);
        Assert.Contains("does not match host name", wrongName.StdErr);
    }

    [Fact]
    public async Task Npgsql_VerifyFull_WithRootCertificate()
    {
        await using var host = await StartAsync("prefer");

        await using var conn = await host.OpenAsync(tweak: b =>
        {
            b.Host = "localhost";
            b.SslMode = SslMode.VerifyFull;
            b.RootCertificate = tls.CaFile;
        });
        Assert.Equal(42, await conn.ScalarAsync<int>("SELECT 41 + 1"));
        await using var again = await host.OpenAsync(tweak: b =>
        {
            b.Host = "localhost";
            b.SslMode = SslMode.VerifyFull;
            b.RootCertificate = tls.CaFile;
        });
        Assert.Equal(PostgresInstance.AppUser, await again.ScalarAsync<string>("SELECT current_user::text"));
    }

    [Fact]
    public async Task DirectTls_WithAlpn_LogsIn_WithoutAlpn_IsClosed()
    {
        await using var host = await StartAsync("prefer", ini => ini.Setting("auth_type", "trust"));

        await using (var client = await DirectTlsClient.ConnectAsync(host.Port, tls.Ca, alpn: true))
        {
            await client.SendStartupAsync(PostgresInstance.AppUser, PostgresInstance.AppDatabase);
            var login = await client.ReadUntilReadyAsync();
            Assert.DoesNotContain('E', login.Codes);
            Assert.Contains('R', login.Codes);
            await client.SendQueryAsync("SELECT 41 + 1");
            var result = await client.ReadUntilReadyAsync();
            Assert.Equal(["42"], result.Values);
        }

        await using (var client = await DirectTlsClient.ConnectAsync(host.Port, tls.Ca, alpn: false))
        {
            Assert.True(await client.IsClosedAsync());
        }

        // Direct TLS is only offered with client TLS on: with disable a ClientHello is not understood.
        await using var off = await StartAsync("disable", ini => ini.Setting("auth_type", "trust"));
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var client = await DirectTlsClient.ConnectAsync(off.Port, tls.Ca, alpn: true);
        });
    }

    [Fact]
    public async Task DataAfterSslRequest_BeforeTheAnswer_IsRefused()
    {
        await using var host = await StartAsync("prefer");

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, host.Port);
        var request = new byte[8 + 9];
        BinaryPrimitives.WriteInt32BigEndian(request, 8);
        BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(4), (1234 << 16) | 5679);
        "injected!"u8.CopyTo(request.AsSpan(8));
        await socket.SendAsync(request);

        var answer = await ReadAllAsync(socket);
        Assert.Equal((byte)'E', answer[0]);
        Assert.Contains("08P01", Encoding.UTF8.GetString(answer));
        Assert.Contains("received unencrypted data after SSL request", Encoding.UTF8.GetString(answer));
    }

    [Fact]
    public async Task GssEncRequest_IsAnsweredN()
    {
        await using var host = await StartAsync("require");
        var r = await PsqlAsync(host, "gssencmode=prefer sslmode=require");
        AssertTls(r);
    }

    [Fact]
    public async Task AuthCert_CommonNameIsTheUser_NoPassword()
    {
        await using var host = await StartAsync("verify-full", ini => ini.Setting("auth_type", "cert"));

        var ok = await PsqlAsync(host, $"sslmode=require sslcert={tls.ClientCertFile} sslkey={tls.ClientKeyFile}", password: null,
            sql: "SELECT current_user::text || ' ' || (41 + 1)");
        AssertTls(ok);
        Assert.Contains("app 42", ok.StdOut);

        var mismatch = await PsqlAsync(host, $"sslmode=require sslcert={tls.ClientCertFile} sslkey={tls.ClientKeyFile}", password: null,
            user: PostgresInstance.ScramUser);
        Assert.False(mismatch.Success);
        Assert.Contains("TLS certificate name mismatch", mismatch.StdErr);

        // Under require (certificate optional) a client without one cannot use cert authentication.
        await using var optional = await StartAsync("require", ini => ini.Setting("auth_type", "cert"));
        var none = await PsqlAsync(optional, "sslmode=require", password: null);
        Assert.False(none.Success);
        Assert.Contains("TLS client certificate required", none.StdErr);
        AssertTls(await PsqlAsync(optional, $"sslmode=require sslcert={tls.ClientCertFile} sslkey={tls.ClientKeyFile}", password: null));
    }

    [Theory]
    [InlineData("require", "127.0.0.1")]
    [InlineData("verify-ca", "127.0.0.1")]
    [InlineData("verify-full", "localhost")]
    [InlineData("prefer", "127.0.0.1")]
    [InlineData("allow", "localhost")]
    public async Task ServerTls_ConnectionsToPostgresUseTls(string mode, string serverHost)
    {
        await using var host = await StartAsync("disable", ini => ini
            .Setting("server_tls_sslmode", mode)
            .Setting("server_tls_ca_file", tls.CaFile)
            .Database("ssldb", SslDatabase(serverHost)));

        await using var conn = await host.OpenAsync(database: "ssldb");
        Assert.True(await conn.ScalarAsync<bool>(CheckSsl));
        // A second transaction, maybe on another server connection of the pool, is TLS too.
        Assert.Equal(PostgresInstance.AppUser, await conn.ScalarAsync<string>("SELECT current_user::text"));
    }

    /// <summary>As PgBouncer: a refused server certificate is logged and retried; the client sees its own timeout.</summary>
    [Fact]
    public async Task ServerTls_VerifyFull_WrongHostName_IsLogged_AndTheClientTimesOut()
    {
        await using var host = await StartAsync("disable", ini => ini
            .Setting("server_tls_sslmode", "verify-full")
            .Setting("server_tls_ca_file", tls.CaFile)
            .Setting("server_login_retry", 1)
            .Database("ssldb", SslDatabase("127.0.0.1")));

        var ex = await Assert.ThrowsAnyAsync<NpgsqlException>(() => host.OpenAsync(database: "ssldb", tweak: b => b.Timeout = 3));
        Assert.IsNotType<PostgresException>(ex);
        Assert.Contains(host.LogLines, l => l.Contains("certificate verify failed", StringComparison.Ordinal) && l.Contains("127.0.0.1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ServerTls_VerifyCa_WithAnotherCa_IsLogged_AndTheClientTimesOut()
    {
        var otherCa = tls.Dir.WriteFile("other-ca.crt", File.ReadAllText(tls.ForeignClientCertFile));
        await using var host = await StartAsync("disable", ini => ini
            .Setting("server_tls_sslmode", "verify-ca")
            .Setting("server_tls_ca_file", otherCa)
            .Database("ssldb", SslDatabase("localhost")));

        var ex = await Assert.ThrowsAnyAsync<NpgsqlException>(() => host.OpenAsync(database: "ssldb", tweak: b => b.Timeout = 3));
        Assert.IsNotType<PostgresException>(ex);
        Assert.Contains(host.LogLines, l => l.Contains("certificate verify failed: the certificate does not chain to server_tls_ca_file", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ServerTls_PreferAgainstPlainPostgres_StaysPlain_RequireFails()
    {
        await using (var host = await StartAsync("disable", ini => ini.Setting("server_tls_sslmode", "prefer")))
        {
            await using var conn = await host.OpenAsync();
            Assert.False(await conn.ScalarAsync<bool>(CheckSsl));
        }

        // PgBouncer 1.25's default is prefer: no setting at all must work against a PostgreSQL without ssl.
        await using (var host = await TestPooler.StartAsync(Pg, output))
        {
            await using var conn = await host.OpenAsync();
            Assert.False(await conn.ScalarAsync<bool>(CheckSsl));
        }

        await using (var host = await StartAsync("disable", ini => ini.Setting("server_tls_sslmode", "require").Setting("query_wait_timeout", "2")))
        {
            var ex = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync());
            Assert.Contains("server does not support TLS", ex.MessageText);
        }
    }

    [Fact]
    public async Task ServerTls_Disable_AgainstHostsslOnly_IsRejectedByPostgres()
    {
        await using var host = await StartAsync("disable", ini => ini
            .Setting("server_tls_sslmode", "disable")
            .Database("ssldb", SslDatabase("127.0.0.1")));

        var ex = await Assert.ThrowsAsync<PostgresException>(() => host.OpenAsync(database: "ssldb"));
        Assert.Contains("no encryption", ex.MessageText);
    }

    [Fact]
    public async Task TlsBothWays_ClientToSluiceToPostgres()
    {
        await using var host = await StartAsync("require", ini => ini
            .Setting("server_tls_sslmode", "verify-full")
            .Setting("server_tls_ca_file", tls.CaFile)
            .Database("ssldb", SslDatabase("localhost")));

        var r = await PsqlAsync(host, $"dbname=ssldb host=localhost hostaddr=127.0.0.1 sslmode=verify-full sslrootcert={tls.CaFile}", sql: CheckSsl);
        Assert.True(r.Success, r.ToString());
        Assert.Contains("SSL connection (protocol: TLSv1.3", r.StdOut);
        Assert.Contains("\nt\n", "\n" + r.StdOut);

        // Larger results cross many TLS records in both hops.
        await using var conn = await host.OpenAsync(database: "ssldb", tweak: b => b.SslMode = SslMode.Require);
        var text = await conn.ScalarAsync<string>("SELECT string_agg(md5(g::text), '') FROM generate_series(1, 20000) g");
        Assert.Equal(20000 * 32, text!.Length);
    }

    private string SslDatabase(string serverHost) =>
        $"host={serverHost} port={tls.SslPostgres.Port.ToString(CultureInfo.InvariantCulture)} dbname={PostgresInstance.AppDatabase}";

    private static async Task<byte[]> ReadAllAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var all = new List<byte>();
        var buffer = new byte[1024];
        while (true)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            }
            catch (SocketException)
            {
                break;
            }
            if (n == 0)
            {
                break;
            }
            all.AddRange(buffer.AsSpan(0, n));
        }
        return all.ToArray();
    }

    /// <summary>PostgreSQL 17's <c>sslnegotiation=direct</c>: a ClientHello first, then the protocol inside TLS.</summary>
    private sealed class DirectTlsClient : IAsyncDisposable
    {
        private readonly Socket _socket;
        private readonly SslStream _stream;
        private readonly PgReader _reader;

        private DirectTlsClient(Socket socket, SslStream stream)
        {
            _socket = socket;
            _stream = stream;
            _reader = new PgReader(stream);
        }

        public static async Task<DirectTlsClient> ConnectAsync(int port, X509Certificate2 ca, bool alpn)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port);
            var stream = new SslStream(new NetworkStream(socket, ownsSocket: true));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "localhost",
                    ApplicationProtocols = alpn ? [new SslApplicationProtocol("postgresql")] : null,
                    RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    {
                        using var chain = new X509Chain();
                        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                        chain.ChainPolicy.CustomTrustStore.Add(ca);
                        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                        return certificate is X509Certificate2 c && chain.Build(c);
                    },
                }, timeout.Token);
            }
            catch
            {
                await stream.DisposeAsync();
                throw;
            }
            return new DirectTlsClient(socket, stream);
        }

        public async Task SendStartupAsync(string user, string database) =>
            await _stream.WriteAsync(PgWire.Startup(("user", user), ("database", database)));

        public async Task SendQueryAsync(string sql) => await _stream.WriteAsync(PgWire.Query(sql));

        /// <summary>Reads messages up to ReadyForQuery: their codes and the first column of each DataRow.</summary>
        public async Task<(List<char> Codes, List<string?> Values)> ReadUntilReadyAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            var codes = new List<char>();
            var values = new List<string?>();
            while (true)
            {
                var message = await _reader.ReadMessageAsync(timeout.Token)
                    ?? throw new EndOfStreamException("Sluice closed the connection before ReadyForQuery");
                codes.Add(message.Type);
                if (message.Type == 'E')
                {
                    throw new InvalidOperationException("error from Sluice: " + message);
                }
                if (message.Type == 'D')
                {
                    values.Add(message.Values[0]);
                }
                if (message.Type == 'Z')
                {
                    return (codes, values);
                }
            }
        }

        public async Task<bool> IsClosedAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                return await _stream.ReadAsync(new byte[16], timeout.Token) == 0;
            }
            catch (IOException)
            {
                return true;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stream.DisposeAsync();
            _socket.Dispose();
        }
    }
}
