using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Sluice.Cli;
using Sluice.Config;
using Sluice.Diagnostics;
using Sluice.Hosting;

InheritedSignalDispositions.UnignoreHandledSignals();
SocketEngineTuning.Apply();
var commandLine = CommandLine.Parse(args, out var argError);
if (argError is not null)
{
    Console.Error.WriteLine($"sluice: {argError}");
    Console.Error.WriteLine("Try \"sluice --help\" for more information.");
    return 1;
}
if (commandLine.ShowHelp)
{
    Console.WriteLine(CommandLine.Usage);
    return 0;
}
if (commandLine.ShowVersion)
{
    // The first line matches SHOW VERSION, as PgBouncer's does.
    Console.WriteLine(Sluice.Hosting.Version.Banner);
    Console.WriteLine($"Sluice {Sluice.Hosting.Version.Text}");
    Console.WriteLine($".NET {Environment.Version}");
    return 0;
}

PoolerConfig config;
try
{
    var environment = EnvironmentBootstrap.Read();
    if (commandLine.ConfigFile is not null)
    {
        config = ConfigLoader.LoadFile(commandLine.ConfigFile);
    }
    else if (EnvironmentBootstrap.IsConfigured(environment))
    {
        commandLine = commandLine with { ConfigFile = EnvironmentBootstrap.Prepare(environment, Console.Out) };
        config = ConfigLoader.LoadFile(commandLine.ConfigFile);
    }
    else
    {
        Console.Error.WriteLine("sluice: no configuration file specified");
        Console.Error.WriteLine("Try \"sluice --help\" for more information.");
        return 1;
    }
}
catch (Exception e) when (e is ConfigException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss.fff} UTC [{Environment.ProcessId}] FATAL cannot load config file: {e.Message}");
    return 1;
}

if (commandLine.User is not null || config.User is not null)
{
    var wanted = commandLine.User ?? config.User!;
    if (!ProcessIdentity.TrySwitchTo(wanted, out var switchError))
    {
        Console.Error.WriteLine($"sluice: could not switch to user {wanted}: {switchError}");
        return 1;
    }
}
if (ProcessIdentity.IsRoot && Environment.GetEnvironmentVariable("SLUICE_ALLOW_ROOT") != "1")
{
    // Same rule as PgBouncer: a pooler facing the network must not run with root's rights.
    Console.Error.WriteLine("sluice: Sluice should not run as root (use -u USER, or set SLUICE_ALLOW_ROOT=1)");
    return 1;
}

if (commandLine.Daemon && string.IsNullOrEmpty(config.Pidfile))
{
    Console.Error.WriteLine("sluice: daemon needs pidfile configured");
    return 1;
}
if (!string.IsNullOrEmpty(config.Pidfile) && PidFile.CheckStale(config.Pidfile) is { } pidError)
{
    Console.Error.WriteLine($"sluice: {pidError}");
    return 1;
}
if (commandLine.Daemon && !Daemon.IsChild)
{
    return Daemon.Detach(args, config.Pidfile!);
}

// The config's verbose is applied by Configure below and again on every reload.
var level = TextLoggerProvider.LevelForVerbose(commandLine.Verbose);
using var logProvider = new TextLoggerProvider(level, writeToStderr: !commandLine.Quiet && !commandLine.Daemon, null);
logProvider.Configure(config);
using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logProvider));
var logger = loggerFactory.CreateLogger("Sluice");

var pooler = new Pooler(config, loggerFactory);
pooler.ConfigReloaded += logProvider.Configure;

// Signals are caught before the listeners open, as PgBouncer sets them up before listening: a client can connect
// as soon as they do, and a SIGHUP sent then must not end the process (the default action). A reload asked for
// during the start is done once the start is over.
var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
var signals = new SignalHandler(pooler, logger, () =>
{
    started.Task.Wait();
    SystemdNotifier.Notify("RELOADING=1");
    try
    {
        pooler.Reload(ConfigLoader.LoadFile(commandLine.ConfigFile!));
    }
    finally
    {
        SystemdNotifier.Notify("READY=1");
    }
});
using var registrations = signals.Register();
try
{
    await pooler.StartAsync();
}
catch (Exception e) when (e is ConfigException or IOException or System.Net.Sockets.SocketException or FormatException or UnauthorizedAccessException)
{
    logger.LogCritical("{Message}", e.Message);
    logProvider.Dispose();
    return 1;
}
if (!string.IsNullOrEmpty(config.Pidfile))
{
    PidFile.Write(config.Pidfile);
}
SystemdNotifier.Notify($"READY=1\nMAINPID={Environment.ProcessId}");
started.SetResult();

var (mode, drain) = await signals.WaitForShutdownAsync();
SystemdNotifier.Notify("STOPPING=1");
await pooler.ShutdownAsync(mode, drain);
if (!string.IsNullOrEmpty(config.Pidfile))
{
    PidFile.Remove(config.Pidfile);
}
// How much the process allocated over its life: the forwarding path should add nothing per message.
logger.LogInformation("shutdown complete: allocated {Bytes} bytes, {Gen0} gen0 / {Gen1} gen1 / {Gen2} gen2 collections",
    GC.GetTotalAllocatedBytes(), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
return 0;
