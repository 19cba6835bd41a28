using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using Npgsql;
using Sluice.IntegrationTests.Infrastructure;
using Sluice.Testing;
using Sluice.Testing.Hosting;

namespace Sluice.IntegrationTests.Operations;

/// <summary>The HTTP side port (/metrics, /healthz, /readyz) and the "Sluice" meter agree with SHOW STATS under pgbench.</summary>
[Collection(PostgresCollection.Name)]
public sealed class MetricsTests
{
    private readonly PostgresFixture _fixture;
    private readonly ITestOutputHelper _output;

    public MetricsTests(PostgresFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    [Fact]
    public async Task Metrics_DuringAndAfterPgbench_AgreeWithShowStats_AndTheMeter()
    {
        await using var bench = await BenchDatabase.CreateAsync(_fixture.Postgres);
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output, ini => ini
            .Setting("stats_listen_addr", "127.0.0.1")
            .Setting("stats_listen_port", 0)
            .Setting("default_pool_size", 10)
            .Database(bench.Name, _fixture.Postgres.LibpqConnectString(bench.Name)));
        var http = host.Pooler.HttpEndpoint;
        Assert.NotNull(http);

        var pgbench = Ops.PgbenchAsync(host.Port, bench.Name, ["-c", "10", "-j", "2", "-T", "5", "-n"], TimeSpan.FromSeconds(60));
        Assert.True(await Ops.UntilAsync(async () => (await Ops.RowAsync(host.ConsoleAsync, "SHOW STATS", "database", bench.Name)).Long("total_xact_count") > 50,
            TimeSpan.FromSeconds(15)), "pgbench did not get going through Sluice");

        // Scrapes during the run: counters only grow, and the pool gauges show the pgbench clients.
        var previous = 0.0;
        var queriesKey = $"pgbouncer_stats_queries_pooled_total{{database=\"{bench.Name}\"}}";
        for (var i = 0; i < 5; i++)
        {
            var (status, body) = await Ops.HttpGetAsync(http!, "/metrics");
            Assert.Equal(200, status);
            var metrics = Ops.ParsePrometheus(body);
            Assert.Equal(1, metrics["pgbouncer_up"]);
            Assert.True(metrics[queriesKey] >= previous, $"{queriesKey} went down: {previous} -> {metrics[queriesKey]}");
            previous = metrics[queriesKey];
            var clients = metrics[$"pgbouncer_pools_client_active_connections{{database=\"{bench.Name}\",user=\"app\"}}"]
                + metrics[$"pgbouncer_pools_client_waiting_connections{{database=\"{bench.Name}\",user=\"app\"}}"];
            Assert.Equal(10, clients);
            await Task.Delay(300);
        }
        Assert.True(previous > 0);

        var report = new PgbenchReport(await pgbench);
        _output.WriteLine(report.Result.StdOut);
        report.AssertClean();
        // Every pgbench client left: the counters are quiet now.
        Assert.True(await Ops.UntilAsync(() => host.Pooler.ClientCount == 0, TimeSpan.FromSeconds(10)));

        var stats = await Ops.RowAsync(host.ConsoleAsync, "SHOW STATS", "database", bench.Name);
        var (finalStatus, finalBody) = await Ops.HttpGetAsync(http!, "/metrics");
        Assert.Equal(200, finalStatus);
        var final = Ops.ParsePrometheus(finalBody);
        string Db(string name) => $"{name}{{database=\"{bench.Name}\"}}";
        string Pool(string name) => $"{name}{{database=\"{bench.Name}\",user=\"app\"}}";

        Assert.Equal(stats.Long("total_query_count"), (long)final[Db("pgbouncer_stats_queries_pooled_total")]);
        Assert.Equal(stats.Long("total_xact_count"), (long)final[Db("pgbouncer_stats_sql_transactions_pooled_total")]);
        Assert.Equal(stats.Long("total_received"), (long)final[Db("pgbouncer_stats_received_bytes_total")]);
        Assert.Equal(stats.Long("total_sent"), (long)final[Db("pgbouncer_stats_sent_bytes_total")]);
        Assert.Equal(stats.Long("total_server_assignment_count"), (long)final[Db("pgbouncer_stats_server_assignments_total")]);
        Assert.Equal(stats.Long("total_query_time") / 1e6, final[Db("pgbouncer_stats_queries_duration_seconds_total")], 3);
        Assert.Equal(stats.Long("total_xact_time") / 1e6, final[Db("pgbouncer_stats_server_in_transaction_seconds_total")], 3);
        Assert.True(report.Processed <= stats.Long("total_xact_count"), $"pgbench did {report.Processed} transactions, SHOW STATS counts {stats["total_xact_count"]}");

        // Histograms: one observation per query / per server assignment; +Inf bucket = count; buckets cumulative.
        Assert.Equal(stats.Long("total_query_count"), (long)final[Pool("sluice_query_duration_seconds_count")]);
        Assert.Equal(stats.Long("total_server_assignment_count"), (long)final[Pool("sluice_client_wait_seconds_count")]);
        foreach (var histogram in new[] { "sluice_query_duration_seconds", "sluice_client_wait_seconds" })
        {
            var buckets = final.Where(kv => kv.Key.StartsWith(histogram + "_bucket{database=\"" + bench.Name + "\"", StringComparison.Ordinal))
                .Select(kv => kv.Value).ToArray();
            Assert.True(buckets.Length > 1, histogram + " has no buckets");
            Assert.Equal(buckets.Order().ToArray(), buckets);
            Assert.Equal(final[Pool(histogram + "_count")], final[Pool(histogram + "_bucket").Replace("}", ",le=\"+Inf\"}", StringComparison.Ordinal)]);
        }
        Assert.Equal(
            stats.Long("total_query_time") / 1e6, final[Pool("sluice_query_duration_seconds_sum")], 2);

        // The meter "Sluice" reports the same totals in process.
        var measured = CollectMeter(bench.Name);
        Assert.Equal(stats.Long("total_query_count"), measured.GetValueOrDefault("sluice.queries"));
        Assert.Equal(stats.Long("total_xact_count"), measured.GetValueOrDefault("sluice.transactions"));
        Assert.Equal(0, measured.GetValueOrDefault("sluice.clients.connected", -1));
        Assert.Equal(stats.Long("total_wait_time") / 1e6, measured.GetValueOrDefault("sluice.client.wait_time"), 3);
        Assert.Equal(await _fixture.Postgres.CountBackendsAsync(database: bench.Name), measured.GetValueOrDefault("sluice.servers.total", -1));
    }

    [Fact]
    public async Task Healthz_IsAlways200_ReadyzIs503WhilePaused()
    {
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output, ini => ini
            .Setting("stats_listen_addr", "127.0.0.1")
            .Setting("stats_listen_port", 0));
        var http = host.Pooler.HttpEndpoint!;
        await using var client = new NpgsqlConnection(host.ConnectionString());
        await client.OpenAsync();
        await client.ScalarAsync<int>("SELECT 1");

        Assert.Equal(200, (await Ops.HttpGetAsync(http, "/healthz")).Status);
        Assert.Equal(200, (await Ops.HttpGetAsync(http, "/readyz")).Status);
        Assert.Equal(404, (await Ops.HttpGetAsync(http, "/nothing")).Status);

        Assert.True((await host.ConsoleAsync("PAUSE")).Success);
        var paused = await Ops.HttpGetAsync(http, "/readyz");
        Assert.Equal(503, paused.Status);
        Assert.Contains("paused", paused.Body);
        Assert.Equal(200, (await Ops.HttpGetAsync(http, "/healthz")).Status);
        var metrics = await Ops.HttpGetAsync(http, "/metrics");
        Assert.Equal(200, metrics.Status);

        Assert.True((await host.ConsoleAsync("RESUME")).Success);
        Assert.Equal(200, (await Ops.HttpGetAsync(http, "/readyz")).Status);
        Assert.Equal(2, await client.ScalarAsync<int>("SELECT 2"));

        // PAUSE of one database is not a global pause: still ready.
        Assert.True((await host.ConsoleAsync("PAUSE " + PostgresInstance.AppDatabase)).Success);
        Assert.Equal(200, (await Ops.HttpGetAsync(http, "/readyz")).Status);
        Assert.True((await host.ConsoleAsync("RESUME " + PostgresInstance.AppDatabase)).Success);
    }

    [Fact]
    public async Task Metrics_ExposesPoolGaugesAndConfig_UnderExporterNames()
    {
        await using var host = await TestPooler.StartOperationsAsync(_fixture.Postgres, _output, ini => ini
            .Setting("stats_listen_addr", "127.0.0.1")
            .Setting("stats_listen_port", 0)
            .Setting("max_client_conn", 123)
            .Setting("default_pool_size", 6));
        await using var idle = new NpgsqlConnection(host.ConnectionString());
        await idle.OpenAsync();
        await idle.ScalarAsync<int>("SELECT 1");

        var (status, body) = await Ops.HttpGetAsync(host.Pooler.HttpEndpoint!, "/metrics");
        Assert.Equal(200, status);
        Assert.Contains("# TYPE pgbouncer_stats_queries_pooled_total counter", body);
        Assert.Contains("# TYPE sluice_query_duration_seconds histogram", body);
        var m = Ops.ParsePrometheus(body);
        Assert.Equal(123, m["pgbouncer_config_max_client_connections"]);
        Assert.Equal(6, m["pgbouncer_databases_pool_size{name=\"appdb\"}"]);
        Assert.Equal(1, m["pgbouncer_databases_current_connections{name=\"appdb\"}"]);
        Assert.Equal(1, m["pgbouncer_pools_server_idle_connections{database=\"appdb\",user=\"app\"}"]);
        Assert.Equal(0, m["pgbouncer_pools_server_active_connections{database=\"appdb\",user=\"app\"}"]);
        Assert.Equal(1, m["pgbouncer_pools_client_active_connections{database=\"appdb\",user=\"app\"}"]);
        Assert.Equal(0, m["pgbouncer_pools_client_waiting_connections{database=\"appdb\",user=\"app\"}"]);
        Assert.Equal(1, m["sluice_clients"]);

        var pools = (await host.ConsoleAsync("SHOW POOLS")).Records().Single(r => r["database"] == "appdb");
        Assert.Equal(pools["sv_idle"], m["pgbouncer_pools_server_idle_connections{database=\"appdb\",user=\"app\"}"].ToString(CultureInfo.InvariantCulture));
        Assert.Equal(pools["cl_active"], m["pgbouncer_pools_client_active_connections{database=\"appdb\",user=\"app\"}"].ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>One collection of the observable instruments of every "Sluice" meter, summed per instrument for <paramref name="database"/>.</summary>
    private static Dictionary<string, double> CollectMeter(string database)
    {
        var sums = new ConcurrentDictionary<string, double>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Sluice")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record(string instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "database" && (string?)tag.Value == database)
                {
                    sums.AddOrUpdate(instrument, value, (_, old) => old + value);
                }
            }
        }
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        listener.Start();
        listener.RecordObservableInstruments();
        return new Dictionary<string, double>(sums);
    }
}
