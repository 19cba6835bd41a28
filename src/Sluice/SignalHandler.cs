using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Sluice.Config;
using Sluice.Hosting;

namespace Sluice.Cli;

/// <summary>
/// PgBouncer's signals: SIGHUP reload; SIGTERM waits for clients, SIGINT for servers, and a second one of
/// either stops at once; SIGQUIT stops at once; SIGUSR1 pauses, SIGUSR2 resumes.
/// </summary>
internal sealed class SignalHandler(Pooler pooler, ILogger logger, Action reload)
{
    private const PosixSignal SigUsr1 = (PosixSignal)10;
    private const PosixSignal SigUsr2 = (PosixSignal)12;

    private readonly TaskCompletionSource<ShutdownMode> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _drain = new();
    private int _stopSignals;

    public IDisposable Register()
    {
        var list = new List<IDisposable>
        {
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => OnStop(c, ShutdownMode.WaitForClients, "SIGTERM")),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, c => OnStop(c, ShutdownMode.WaitForServers, "SIGINT")),
            PosixSignalRegistration.Create(PosixSignal.SIGQUIT, c => OnStop(c, ShutdownMode.Immediate, "SIGQUIT")),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnHangup),
            PosixSignalRegistration.Create(SigUsr1, c =>
            {
                c.Cancel = true;
                logger.LogInformation("got SIGUSR1, pausing all activity");
                _ = pooler.PauseAsync();
            }),
            PosixSignalRegistration.Create(SigUsr2, c =>
            {
                c.Cancel = true;
                if (pooler.IsShuttingDown)
                {
                    logger.LogInformation("got SIGUSR2 while shutting down, ignoring");
                    return;
                }
                logger.LogInformation("got SIGUSR2, continuing");
                pooler.Resume();
            }),
        };
        pooler.ShutdownRequested.ContinueWith(t => _first.TrySetResult(t.Result), TaskScheduler.Default);
        return new Registrations(list);
    }

    public async Task<(ShutdownMode Mode, CancellationToken Drain)> WaitForShutdownAsync() => (await _first.Task.ConfigureAwait(false), _drain.Token);

    private void OnStop(PosixSignalContext context, ShutdownMode mode, string name)
    {
        context.Cancel = true;
        if (Interlocked.Increment(ref _stopSignals) == 1 && mode != ShutdownMode.Immediate)
        {
            logger.LogInformation("got {Signal}, shutting down ({Mode}); send it again to exit at once", name, mode);
            _first.TrySetResult(mode);
            return;
        }
        logger.LogInformation("got {Signal}, fast exit", name);
        _first.TrySetResult(ShutdownMode.Immediate);
        _drain.Cancel();
    }

    private void OnHangup(PosixSignalContext context)
    {
        context.Cancel = true;
        logger.LogInformation("got SIGHUP, re-reading config");
        try
        {
            reload();
        }
        catch (Exception e) when (e is ConfigException or IOException or FormatException or UnauthorizedAccessException)
        {
            logger.LogError("config file loading failed: {Message}", e.Message);
        }
    }

    private sealed class Registrations(List<IDisposable> items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}
