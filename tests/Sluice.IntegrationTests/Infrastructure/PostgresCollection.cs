using Sluice.Testing;

namespace Sluice.IntegrationTests.Infrastructure;

/// <summary>All integration tests marked [Collection("postgres")] share one PostgreSQL cluster per test run.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
