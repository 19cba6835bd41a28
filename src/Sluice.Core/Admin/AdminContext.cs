using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Sluice.Config;
using Sluice.Hosting;
using Sluice.Pooling;
using Sluice.Protocol;
using Sluice.Stats;

namespace Sluice.Admin;

/// <summary>One open console connection, listed by SHOW CLIENTS / POOLS / DATABASES under the "pgbouncer" database.</summary>
internal sealed class ConsoleSession(ClientConnection client, Socket? socket, string user, AdminAccessLevel access)
{
    public ClientConnection Client { get; } = client;

    /// <summary>The console's socket (null in unit tests), for addresses and peer pid.</summary>
    public Socket? Socket { get; } = socket;

    public string User { get; } = user;

    public AdminAccessLevel Access { get; } = access;

    /// <summary>True while a command of this session runs: the asking console is "active", the others "idle".</summary>
    public volatile bool Busy;

    /// <summary>Timestamp (Pooler.Time) of the last command received.</summary>
    public long RequestTimestamp;
}

/// <summary>Console state that lives as long as its <see cref="Pooler"/>: open consoles and the stats sampler.</summary>
internal sealed class AdminState
{
    private static readonly ConditionalWeakTable<Pooler, AdminState> s_states = new();

    public ConcurrentDictionary<long, ConsoleSession> Consoles { get; } = new();

    public StatsSampler Sampler { get; } = new();

    /// <summary>The admin database's own counters (SHOW STATS row "pgbouncer"): only the console sessions count there.</summary>
    public PoolStats ConsoleStats { get; } = new();

    public static AdminState For(Pooler pooler) => s_states.GetValue(pooler, static _ => new AdminState());
}

/// <summary>Raised by a command handler; becomes an ErrorResponse (severity ERROR) and the session goes on.</summary>
internal sealed class AdminException(string message, string sqlState = SqlState.ProtocolViolation) : Exception(message)
{
    public string SqlState { get; } = sqlState;
}

/// <summary>What a command handler sees: the pooler, the asking session and the output being built.</summary>
internal sealed class AdminContext
{
    public AdminContext(Pooler pooler, ConsoleSession? session, MessageBuilder output)
    {
        Pooler = pooler;
        Session = session;
        Output = output;
        State = AdminState.For(pooler);
    }

    public Pooler Pooler { get; }

    public ConsoleSession? Session { get; }

    public MessageBuilder Output { get; }

    public AdminState State { get; }

    public PoolerConfig Config => Pooler.Config;

    /// <summary>Set by SHUTDOWN: no reply follows, the session ends.</summary>
    public bool ShutdownRequested { get; set; }

    /// <summary>Access of the asking session; sessionless contexts (tests) act as admin.</summary>
    public AdminAccessLevel Access => Session?.Access ?? AdminAccessLevel.Admin;

    public ResultSetWriter BeginResult(IReadOnlyList<AdminColumn> columns) => new(Output, columns);

    /// <summary>Pools sorted by database then user (ordinal), as PgBouncer keeps its pool list.</summary>
    public List<Pool> SortedPools()
    {
        var pools = Pooler.Pools.All.ToList();
        pools.Sort(static (a, b) =>
        {
            var c = string.CompareOrdinal(a.Key.Database, b.Key.Database);
            return c != 0 ? c : string.CompareOrdinal(a.Key.User, b.Key.User);
        });
        return pools;
    }

    public ConsoleSession[] Consoles() => [.. State.Consoles.Values.OrderBy(s => s.Client.Id)];
}
