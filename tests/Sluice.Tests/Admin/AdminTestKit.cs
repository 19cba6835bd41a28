using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Admin;
using Sluice.Config;
using Sluice.Hosting;
using Sluice.Pooling;
using Sluice.Protocol;

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

    public static List<Message> Run(Pooler pooler, string query, ConsoleSession? session = null)
    {
        var output = new MessageBuilder();
        AdminCommands.ExecuteAsync(new AdminContext(pooler, session, output), query).AsTask().GetAwaiter().GetResult();
        return Decode(output.ToArray());
    }

    public static List<Message> Decode(byte[] bytes)
    {
        var messages = new List<Message>();
        var pos = 0;
        while (pos < bytes.Length)
        {
            var code = (char)bytes[pos];
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(pos + 1));
            messages.Add(new Message(code, bytes.AsSpan(pos + 5, length - 4).ToArray()));
            pos += 1 + length;
        }
        return messages;
    }

    internal sealed record Message(char Code, byte[] Body)
    {
        /// <summary>RowDescription → (name, type OID, type length).</summary>
        public List<(string Name, int TypeOid, short TypeLength)> Columns()
        {
            Assert.Equal('T', Code);
            var count = BinaryPrimitives.ReadInt16BigEndian(Body);
            var pos = 2;
            var columns = new List<(string, int, short)>();
            for (var i = 0; i < count; i++)
            {
                var name = ReadCString(Body, ref pos);
                pos += 4 + 2;   // table OID, attribute number
                var type = BinaryPrimitives.ReadInt32BigEndian(Body.AsSpan(pos));
                var typeLength = BinaryPrimitives.ReadInt16BigEndian(Body.AsSpan(pos + 4));
                pos += 4 + 2 + 4 + 2;
                columns.Add((name, type, typeLength));
            }
            Assert.Equal(Body.Length, pos);
            return columns;
        }

        /// <summary>DataRow → values (null for SQL NULL).</summary>
        public List<string?> Values()
        {
            Assert.Equal('D', Code);
            var count = BinaryPrimitives.ReadInt16BigEndian(Body);
            var pos = 2;
            var values = new List<string?>();
            for (var i = 0; i < count; i++)
            {
                var length = BinaryPrimitives.ReadInt32BigEndian(Body.AsSpan(pos));
                pos += 4;
                if (length < 0)
                {
                    values.Add(null);
                    continue;
                }
                values.Add(Encoding.UTF8.GetString(Body, pos, length));
                pos += length;
            }
            Assert.Equal(Body.Length, pos);
            return values;
        }

        /// <summary>ErrorResponse / NoticeResponse fields by their code letter.</summary>
        public Dictionary<char, string> Fields()
        {
            Assert.True(Code is 'E' or 'N');
            var fields = new Dictionary<char, string>();
            var pos = 0;
            while (Body[pos] != 0)
            {
                var field = (char)Body[pos++];
                fields[field] = ReadCString(Body, ref pos);
            }
            return fields;
        }

        public string Text()
        {
            var pos = 0;
            return ReadCString(Body, ref pos);
        }
    }

    /// <summary>The rows of a result set as dictionaries keyed by column name.</summary>
    public static List<Dictionary<string, string?>> Records(List<Message> messages)
    {
        var columns = messages[0].Columns().Select(c => c.Name).ToList();
        return [.. messages.Where(m => m.Code == 'D').Select(m => m.Values().Select((v, i) => (columns[i], v)).ToDictionary(p => p.Item1, p => p.v))];
    }

    private static string ReadCString(byte[] body, ref int pos)
    {
        var end = Array.IndexOf(body, (byte)0, pos);
        var text = Encoding.UTF8.GetString(body, pos, end - pos);
        pos = end + 1;
        return text;
    }
}
