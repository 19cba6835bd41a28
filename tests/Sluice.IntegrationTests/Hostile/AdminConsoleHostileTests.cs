using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;
using Sluice.Testing.Wire;

namespace Sluice.IntegrationTests.Hostile;

/// <summary>
/// The admin console (virtual database "pgbouncer") has its own message reader and command parser: malformed
/// commands get an ERROR and the console stays usable; bad framing ends only that console connection.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AdminConsoleHostileTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private PostgresInstance Pg => fixture.Postgres;

    public static TheoryData<string> MalformedCommands => new()
    {
        "SET",
        "SET x",
        "SET x =",
        "SET log_connections = 'unterminated",
        "SET \"",
        "SET = 1",
        "SET max_client_conn = 'abc'",
        "SET default_pool_size = 99999999999999999999999",
        "SHOW \"",
        "SHOW \"\"",
        "SHOW \"unterminated",
        "SHOW ;;;;",
        "SHOW CLIENTS; SHOW POOLS",
        "SHOW " + new string('a', 100_000),
        "SHOW " + string.Concat(Enumerable.Repeat("\"x\" ", 10_000)),
        "KILL \"nosuchdb\"",
        "KILL_CLIENT",
        "KILL_CLIENT abc",
        "KILL_CLIENT 99999999999999999999",
        "KILL_CLIENT -1",
        "RESUME \"nosuchdb\"",
        "DISABLE \"\"",
        "ENABLE \"nosuchdb\"",
        "RECONNECT \"nosuchdb\"",
        "WAIT_CLOSE \"nosuchdb\"",
        "SUSPEND now",
        "SHOW FDS",
        "RELOAD now please",
        "select * from pg_stat_activity",
        "\u00e9\u00e8\u00ea \u2603 \U0001F600",
        "'",
        "\"",
        "--",
        "/*",
    };

    [Theory]
    [MemberData(nameof(MalformedCommands))]
    public async Task MalformedCommand_GetsError_ConsoleStaysUsable(string command)
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("admin_users", PostgresInstance.AppUser));
        await using var bystander = await Bystander.OpenAsync(host);
        await using var console = await host.LoginOkAsync(database: "pgbouncer");

        var r = await console.QueryAsync(command, TimeSpan.FromSeconds(5));
        output.WriteLine($"{(command.Length > 80 ? command[..80] + "…" : command)} -> {(r.Error is { } e ? $"{e.Severity} {e.SqlState} {e.Message}" : string.Join(",", r.CommandTags))}");
        Assert.Equal('I', r.TransactionStatus);   // a ReadyForQuery came: the console goes on
        if (r.Error is { } error)
        {
            Assert.Equal("ERROR", error.Severity);
            Assert.DoesNotContain("internal error", error.Message, StringComparison.OrdinalIgnoreCase);
        }

        var version = await console.QueryAsync("SHOW VERSION", TimeSpan.FromSeconds(5));
        Assert.Null(version.Error);
        Assert.NotNull(version.FirstValue);
        HostileAssert.NoUnexpectedErrors(host);
        await bystander.AssertUnaffectedAsync();
    }

    /// <summary>Framing attacks on the console: impossible lengths and an unsupported message type → that console is closed.</summary>
    [Theory]
    [InlineData("length-3")]
    [InlineData("length-max")]
    [InlineData("length-2MB")]
    [InlineData("unknown-type")]
    [InlineData("extended-protocol")]
    public async Task BadFraming_ClosesOnlyThatConsole(string shape)
    {
        await using var host = await TestPooler.StartAsync(Pg, output, ini => ini.Setting("admin_users", PostgresInstance.AppUser));
        await using var bystander = await Bystander.OpenAsync(host);
        await using var c = await host.LoginOkAsync(database: "pgbouncer");

        byte[] bytes = shape switch
        {
            "length-3" => PgWire.TypedHeader('Q', 3),
            "length-max" => PgWire.TypedHeader('Q', int.MaxValue),
            "length-2MB" => PgWire.TypedHeader('Q', 2 * 1024 * 1024),
            "unknown-type" => PgWire.Message('!', [1, 2, 3]),
            "extended-protocol" => PgWire.Message('P', [0, .. PgWire.CString("SHOW POOLS"), 0, 0]),
            _ => throw new ArgumentOutOfRangeException(nameof(shape)),
        };
        await c.SendAsync(bytes);
        var o = await c.ReadUntilClosedAsync();
        output.WriteLine(o.ToString());
        Assert.True(o.Closed, o.ToString());
        Assert.Equal("08P01", o.Error?.Fields['C']);

        await using (var again = await host.LoginOkAsync(database: "pgbouncer"))
        {
            Assert.Null((await again.QueryAsync("SHOW VERSION")).Error);
        }
        HostileAssert.NoUnexpectedErrors(host);
        await bystander.AssertUnaffectedAsync();
    }
}
