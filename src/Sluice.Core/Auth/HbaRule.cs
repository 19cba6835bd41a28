using System.Net;
using System.Text;

namespace Sluice.Auth;

/// <summary>One parsed line of an auth_hba_file. Immutable.</summary>
public sealed class HbaRule
{
    internal HbaRule(int line, HbaConnectionType type, HbaNameList databases, HbaNameList users, HbaAddress? address, HbaMethod method, string? map)
    {
        Line = line;
        Type = type;
        Databases = databases;
        Users = users;
        Address = address;
        Method = method;
        Map = map;
    }

    /// <summary>1-based line number in the HBA file (first physical line of a continued line).</summary>
    public int Line { get; }

    public HbaConnectionType Type { get; }

    public HbaNameList Databases { get; }

    public HbaNameList Users { get; }

    /// <summary>The address column; null for <c>local</c> rules.</summary>
    public HbaAddress? Address { get; }

    public HbaMethod Method { get; }

    /// <summary>The <c>map=</c> option (ident map name); only ever set for cert and peer rules.</summary>
    public string? Map { get; }

    /// <summary>Whether this rule applies to the connection (see <see cref="HbaFile.Match"/>).</summary>
    public bool Matches(bool isUnixSocket, bool isTls, string database, string user, IPAddress? address, bool isReplication = false)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(user);

        var typeOk = Type switch
        {
            HbaConnectionType.Local => isUnixSocket,
            HbaConnectionType.Host => !isUnixSocket,
            HbaConnectionType.HostSsl => !isUnixSocket && isTls,
            HbaConnectionType.HostNoSsl => !isUnixSocket && !isTls,
            _ => false,
        };
        if (!typeOk)
        {
            return false;
        }

        if (Type != HbaConnectionType.Local && (Address is null || !Address.Matches(address)))
        {
            return false;
        }

        return Databases.MatchesDatabase(database, user, isReplication) && Users.MatchesUser(user);
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(Type switch
        {
            HbaConnectionType.Local => "local",
            HbaConnectionType.Host => "host",
            HbaConnectionType.HostSsl => "hostssl",
            _ => "hostnossl",
        });
        sb.Append(' ').Append(Databases).Append(' ').Append(Users);
        if (Address is not null)
        {
            sb.Append(' ').Append(Address);
        }

        sb.Append(' ').Append(HbaFile.MethodName(Method));
        if (Map is not null)
        {
            sb.Append(" map=").Append(Map);
        }

        return sb.ToString();
    }
}
