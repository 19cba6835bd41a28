using Xunit;

namespace Sluice.Testing;

/// <summary>
/// xunit collection fixture: one PostgreSQL cluster shared by every test in the "postgres" collection
/// (see Sluice.IntegrationTests/Infrastructure/PostgresCollection.cs). Inject it via the test class constructor.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresInstance? _postgres;

    /// <summary>The running cluster (throws if accessed before InitializeAsync).</summary>
    public PostgresInstance Postgres => _postgres ?? throw new InvalidOperationException("PostgresFixture not initialized.");

    public string Host => Postgres.Host;

    public int Port => Postgres.Port;

    public string ConnectionString(string user = "postgres", string? password = null, string database = "postgres")
        => Postgres.ConnectionString(user, password, database);

    public async Task InitializeAsync()
    {
        _postgres = await PostgresInstance.StartAsync().ConfigureAwait(false);
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync().ConfigureAwait(false);
        }
    }
}
