using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Admin;
using Sluice.Config;
using Sluice.Hosting;
using Sluice.Pooling;
using Sluice.Protocol;
using Sluice.Testing.Wire;

namespace Sluice.Tests.Admin;

/// <summary>Runs console commands against a pooler that is built but not started, and decodes what they write.</summary>
internal static class AdminTestKit
{
    public const string Ini = """
        [pgbouncer]
        listen_port = 6543
        admin_users = admin
        stats_users = stats
        pool_mode = transaction
        [databases]
        appdb = host=127.0.0.1 port=5432 dbname=app pool_size=7
        multi = host=10.0.0.1,10.0.0.2 dbname=x
        [users]
        alice = pool_size=3 pool_mode=session
        """;

    public static Pooler NewPooler(string ini = Ini, TimeProvider? time = null) =>
        new(ConfigLoader.LoadText(ini), NullLoggerFactory.Instance, time);

    /// <summary>A console session of <paramref name="user"/> on an unconnected socket (nothing is sent through it).</summary>
    public static ConsoleSession Session(Pooler pooler, string user, AdminAccessLevel access)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        return new ConsoleSession(new ClientConnection(pooler, socket, isUnixSocket: false), null, user, access);
    }

    public static List<PgMessage> Run(Pooler pooler, string query, ConsoleSession? session = null)
    {
        var output = new MessageBuilder();
        AdminCommands.ExecuteAsync(new AdminContext(pooler, session, output), query).AsTask().GetAwaiter().GetResult();
        return Decode(output.ToArray());
    }

    public static List<PgMessage> Decode(byte[] bytes)
    {
        var messages = new List<PgMessage>();
        var pos = 0;
        while (pos < bytes.Length)
        {
            var code = (char)bytes[pos];
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(pos + 1));
            messages.Add(new PgMessage(code, bytes.AsSpan(pos + 5, length - 4).ToArray()));
            pos += 1 + length;
        }
        return messages;
    }

    /// <summary>The rows of a result set as dictionaries keyed by column name.</summary>
    public static List<Dictionary<string, string?>> Records(List<PgMessage> messages)
    {
        var columns = messages[0].Columns().Select(c => c.Name).ToList();
        return [.. messages.Where(m => m.Type == 'D').Select(m => m.Values.Select((v, i) => (columns[i], v)).ToDictionary(p => p.Item1, p => p.v))];
    }
}
