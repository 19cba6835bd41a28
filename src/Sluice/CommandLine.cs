namespace Sluice.Cli;

/// <summary>PgBouncer's command line: <c>sluice [-d] [-q] [-v]... [-u user] [-V] [-h] CONFIG</c>.</summary>
internal sealed record CommandLine(bool Daemon, bool Quiet, int Verbose, string? User, bool ShowVersion, bool ShowHelp, string? ConfigFile)
{
    public const string Usage = """
        sluice is a PostgreSQL connection pooler compatible with PgBouncer.

        Usage:
          sluice [OPTION]... CONFIG_FILE

        Options:
          -d, --daemon         run in the background (as a daemon)
          -q, --quiet          run quietly
          -R, --reboot         (not supported: use so_reuseport for rolling restarts)
          -u, --user=USERNAME  assume identity of USERNAME
          -v, --verbose        increase verbosity
          -V, --version        show version, then exit
          -h, --help           show this help, then exit

        Without CONFIG_FILE, the configuration is taken from the environment
        (DATABASE_URL, DB_HOST, POOL_MODE, ... as the edoburu/pgbouncer image does).
        """;

    /// <summary>Parses getopt-style: bundled short flags (<c>-vv</c>, <c>-dq</c>), <c>-u name</c>, <c>-uname</c>, <c>--user=name</c>.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args, out string? error)
    {
        error = null;
        bool daemon = false, quiet = false, version = false, help = false;
        int verbose = 0;
        string? user = null, config = null;
        var optionsEnded = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!optionsEnded && arg == "--")
            {
                optionsEnded = true;   // getopt: everything after "--" is an operand
                continue;
            }
            if (optionsEnded)
            {
                if (config is not null)
                {
                    error = "too many arguments";
                    return Empty;
                }
                config = arg;
                continue;
            }
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2)
            {
                var (name, value) = arg.IndexOf('=') is var eq and > 0 ? (arg[2..eq], arg[(eq + 1)..]) : (arg[2..], null);
                switch (name)
                {
                    case "daemon": daemon = true; break;
                    case "quiet": quiet = true; break;
                    case "verbose": verbose++; break;
                    case "version": version = true; break;
                    case "help": help = true; break;
                    case "reboot": error = "-R (online restart) is not supported; use so_reuseport for rolling restarts"; return Empty;
                    case "user":
                        user = value ?? (i + 1 < args.Count ? args[++i] : null);
                        if (user is null)
                        {
                            error = "option '--user' requires an argument";
                            return Empty;
                        }
                        break;
                    default:
                        error = $"unrecognized option '{arg}'";
                        return Empty;
                }
                continue;
            }
            if (arg.StartsWith('-') && arg.Length > 1)
            {
                for (var j = 1; j < arg.Length; j++)
                {
                    switch (arg[j])
                    {
                        case 'd': daemon = true; break;
                        case 'q': quiet = true; break;
                        case 'v': verbose++; break;
                        case 'V': version = true; break;
                        case 'h': help = true; break;
                        case 'R': error = "-R (online restart) is not supported; use so_reuseport for rolling restarts"; return Empty;
                        case 'u':
                            user = j + 1 < arg.Length ? arg[(j + 1)..] : (i + 1 < args.Count ? args[++i] : null);
                            if (user is null)
                            {
                                error = "option requires an argument -- 'u'";
                                return Empty;
                            }
                            j = arg.Length;
                            break;
                        default:
                            error = $"invalid option -- '{arg[j]}'";
                            return Empty;
                    }
                }
                continue;
            }
            if (config is not null)
            {
                error = "too many arguments";
                return Empty;
            }
            config = arg;
        }
        return new CommandLine(daemon, quiet, verbose, user, version, help, config);
    }

    private static readonly CommandLine Empty = new(false, false, 0, null, false, false, null);
}
