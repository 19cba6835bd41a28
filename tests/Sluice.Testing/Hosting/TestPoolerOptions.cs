using Microsoft.Extensions.Logging;
using Sluice.Testing.FakePostgres;
using Xunit.Abstractions;

namespace Sluice.Testing.Hosting;

/// <summary>
/// What a <see cref="TestPooler"/> runs in front of and with which settings. Exactly one backend: real
/// PostgreSQL (<see cref="Postgres"/>: md5 auth, database appdb) or a fake (<see cref="FakeScript"/>: trust auth,
/// database "db"). The base ini listens on 127.0.0.1 with an OS-chosen port; <see cref="Configure"/> runs last
/// and may override anything.
/// </summary>
public sealed record TestPoolerOptions
{
    /// <summary>Real PostgreSQL behind the pooler: [databases] appdb points at its appdb.</summary>
    public PostgresInstance? Postgres { get; init; }

    /// <summary>A <see cref="FakePostgresServer"/> behind the pooler, started with this script and owned by the host.</summary>
    public Func<FakeServerConnection, Task>? FakeScript { get; init; }

    /// <summary>The auth_file's entries; by default <see cref="TestUsers.Fixture"/> (real backend) or <see cref="TestUsers.Fake"/>.</summary>
    public IEnumerable<(string User, string Secret)>? Users { get; init; }

    /// <summary>Also listen on a Unix socket in the host's temp directory.</summary>
    public bool UnixSocket { get; init; }

    /// <summary>Changes to the ini after the base settings (IniBuilder.Set overwrites).</summary>
    public Action<IniBuilder>? Configure { get; init; }

    /// <summary>The pooler's clock (a FakeTimeProvider for tests that move time by hand); the system clock by default.</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>Where warnings and the final log tail go.</summary>
    public ITestOutputHelper? Output { get; init; }

    public LogLevel LogLevel { get; init; } = LogLevel.Information;
}
