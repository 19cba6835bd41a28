using Sluice.Testing;

namespace Sluice.IntegrationTests.Infrastructure;

/// <summary>Tests marked [Collection("replication")] share one cluster that accepts walsender connections.</summary>
[CollectionDefinition(Name)]
public sealed class ReplicationCollection : ICollectionFixture<ReplicationPostgresFixture>
{
    public const string Name = "replication";
}
