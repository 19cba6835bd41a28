using Xunit;

namespace Sluice.Testing;

/// <summary>
/// A PostgreSQL cluster that accepts replication connections (wal_level = logical, walsenders, slots, and
/// replication trust for postgres over TCP and the socket). Kept apart from <see cref="PostgresFixture"/>, whose
/// cluster runs with wal_level = minimal for speed.
/// </summary>
public sealed class ReplicationPostgresFixture : IAsyncLifetime
{
    private PostgresInstance? _postgres;

    public PostgresInstance Postgres => _postgres ?? throw new InvalidOperationException("ReplicationPostgresFixture not initialized.");

    public async Task InitializeAsync()
    {
        var options = new PostgresOptions { MaxConnections = 60 };
        options.ExtraConfig.Add("wal_level = logical");
        options.ExtraConfig.Add("max_wal_senders = 10");
        options.ExtraConfig.Add("max_replication_slots = 10");
        options.ExtraHba.Add("local replication all trust");
        options.ExtraHba.Add("host replication postgres 127.0.0.1/32 trust");
        _postgres = await PostgresInstance.StartAsync(options).ConfigureAwait(false);
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync().ConfigureAwait(false);
        }
    }
}
