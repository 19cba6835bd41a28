using System.Security.Cryptography;
using Npgsql;
using Sluice.Testing;

namespace Sluice.IntegrationTests.Infrastructure;

/// <summary>
/// A login role created for one test (SCRAM password, may use appdb), so backend counts in pg_stat_activity are not
/// disturbed by other tests. Dropped (with everything it owns in appdb) on dispose.
/// </summary>
public sealed class TestRole : IAsyncDisposable
{
    private readonly PostgresInstance _postgres;

    private TestRole(PostgresInstance postgres, string name, string password)
    {
        _postgres = postgres;
        Name = name;
        Password = password;
    }

    public string Name { get; }

    public string Password { get; }

    public (string User, string Secret) AuthFileEntry => (Name, Password);

    public static async Task<TestRole> CreateAsync(PostgresInstance postgres, string prefix = "r")
    {
        var name = prefix + "_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        var password = "pw" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
        await postgres.ExecuteAsync($"CREATE ROLE {name} LOGIN PASSWORD '{password}'");
        await postgres.ExecuteAsync($"GRANT pg_read_all_stats TO {name}");
        return new TestRole(postgres, name, password);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _postgres.TerminateBackendsAsync(Name);
            await _postgres.ExecuteAsync($"DROP OWNED BY {Name}", PostgresInstance.AppDatabase);
            await _postgres.ExecuteAsync($"DROP ROLE IF EXISTS {Name}");
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // best effort: the cluster is throwaway
        }
    }
}

/// <summary>Small Npgsql helpers for tests.</summary>
public static class Sql
{
    public static async Task<T> ScalarAsync<T>(this NpgsqlConnection conn, string sql, params object?[] parameters)
    {
        await using var cmd = conn.CreateCommand(sql, parameters);
        var v = await cmd.ExecuteScalarAsync();
        return v is null or DBNull ? default! : (T)v;
    }

    public static async Task<int> ExecAsync(this NpgsqlConnection conn, string sql, params object?[] parameters)
    {
        await using var cmd = conn.CreateCommand(sql, parameters);
        return await cmd.ExecuteNonQueryAsync();
    }

    public static NpgsqlCommand CreateCommand(this NpgsqlConnection conn, string sql, params object?[] parameters)
    {
        var cmd = new NpgsqlCommand(sql, conn);
        foreach (var p in parameters)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = p ?? DBNull.Value });
        }
        return cmd;
    }

    /// <summary>A unique lower-case identifier for a test table.</summary>
    public static string UniqueName(string prefix) =>
        prefix + "_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
}
