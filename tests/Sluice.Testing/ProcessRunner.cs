using System.Diagnostics;
using System.Text;

namespace Sluice.Testing;

/// <summary>Outcome of a finished (or timed-out) external command.</summary>
public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr, bool TimedOut, TimeSpan Elapsed)
{
    public bool Success => !TimedOut && ExitCode == 0;

    /// <summary>Throws <see cref="InvalidOperationException"/> with the captured output unless the command succeeded.</summary>
    public ProcessResult EnsureSuccess(string? what = null)
    {
        if (!Success)
        {
            throw new InvalidOperationException(
                $"{what ?? "command"} failed (exit {ExitCode}{(TimedOut ? ", timed out" : "")}).\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}");
        }
        return this;
    }

    public override string ToString() => $"exit={ExitCode} timedOut={TimedOut} elapsed={Elapsed.TotalMilliseconds:F0}ms\n{StdOut}{StdErr}";
}

/// <summary>Runs external commands (psql, pg_isready, pgbench, pg_ctl, ...), optionally as another OS user via runuser.</summary>
public static class ProcessRunner
{
    /// <summary>
    /// Runs <paramref name="file"/> with <paramref name="args"/>, capturing stdout/stderr. On timeout the whole
    /// process tree is killed and the result has <see cref="ProcessResult.TimedOut"/> set (ExitCode = -1).
    /// When <paramref name="runAsUser"/> is non-null the command is wrapped with <c>runuser -u user --</c>
    /// (requires root). Standard input is closed (redirected and empty) unless <paramref name="stdin"/> is given.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(
        string file,
        IEnumerable<string> args,
        TimeSpan timeout,
        IDictionary<string, string>? env = null,
        string? runAsUser = null,
        string? workingDirectory = null,
        string? stdin = null,
        CancellationToken cancellationToken = default)
    {
        var psi = CreateStartInfo(file, args, env, runAsUser, workingDirectory);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var sw = Stopwatch.StartNew();
        using var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var outDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var errDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) => { if (e.Data is null) outDone.TrySetResult(); else lock (stdout) stdout.Append(e.Data).Append('\n'); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is null) errDone.TrySetResult(); else lock (stderr) stderr.Append(e.Data).Append('\n'); };

        try
        {
            process.Start();
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"Failed to start '{psi.FileName} {string.Join(' ', psi.ArgumentList)}': {ex.Message}", ex);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin).ConfigureAwait(false);
            }
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // process may already have exited
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        bool timedOut = false;
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
            KillTree(process);
            try { await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
            catch (TimeoutException) { }
        }

        // Drain the asynchronous readers (bounded: a grandchild holding the pipe open must not hang us).
        try { await Task.WhenAll(outDone.Task, errDone.Task).WaitAsync(TimeSpan.FromSeconds(timedOut ? 1 : 5)).ConfigureAwait(false); }
        catch (TimeoutException) { }

        cancellationToken.ThrowIfCancellationRequested();
        int exit = timedOut || !process.HasExited ? -1 : process.ExitCode;
        string o, e2;
        lock (stdout) o = stdout.ToString();
        lock (stderr) e2 = stderr.ToString();
        return new ProcessResult(exit, o, e2, timedOut, sw.Elapsed);
    }

    /// <summary>Convenience overload with params args.</summary>
    public static Task<ProcessResult> RunAsync(string file, TimeSpan timeout, params string[] args)
        => RunAsync(file, args, timeout);

    /// <summary>
    /// Starts a long-running process (e.g. sluice or pgbouncer) whose output is captured in the background.
    /// Dispose the returned handle to kill it (whole tree).
    /// </summary>
    public static BackgroundProcess StartBackground(
        string file,
        IEnumerable<string> args,
        IDictionary<string, string>? env = null,
        string? runAsUser = null,
        string? workingDirectory = null)
    {
        var psi = CreateStartInfo(file, args, env, runAsUser, workingDirectory);
        return new BackgroundProcess(psi);
    }

    internal static ProcessStartInfo CreateStartInfo(
        string file, IEnumerable<string> args, IDictionary<string, string>? env, string? runAsUser, string? workingDirectory)
    {
        var (f, a) = runAsUser is null ? (file, args.ToList()) : UnprivilegedUser.Wrap(file, args, runAsUser);
        var psi = new ProcessStartInfo(f)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            CreateNoWindow = true,
            // A cwd the target user can enter: avoids "could not change directory" noise from PG tools.
            WorkingDirectory = workingDirectory ?? (runAsUser is null ? Environment.CurrentDirectory : "/tmp"),
        };
        foreach (var arg in a)
        {
            psi.ArgumentList.Add(arg);
        }
        if (env is not null)
        {
            foreach (var kv in env)
            {
                psi.Environment[kv.Key] = kv.Value;
            }
        }
        return psi;
    }

    internal static void KillTree(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
    }

    /// <summary>Sends a Unix signal (e.g. "TERM", "INT", "HUP") to a pid via /bin/kill.</summary>
    public static async Task<bool> SignalAsync(int pid, string signal)
    {
        var r = await RunAsync("kill", new[] { "-s", signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture) }, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        return r.Success;
    }
}

/// <summary>A process started with <see cref="ProcessRunner.StartBackground"/>; output is accumulated in memory.</summary>
public sealed class BackgroundProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _outClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    internal BackgroundProcess(ProcessStartInfo psi)
    {
        _process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Append(e.Data, _outClosed);
        _process.ErrorDataReceived += (_, e) => Append(e.Data, _errClosed);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        try { _process.StandardInput.Close(); } catch (IOException) { }
        CommandLine = psi.FileName + " " + string.Join(' ', psi.ArgumentList);
    }

    private void Append(string? line, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }
        lock (_output)
        {
            _output.Append(line).Append('\n');
        }
    }

    public string CommandLine { get; }

    /// <summary>Pid of the started process (the runuser wrapper when started as another user).</summary>
    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Combined stdout+stderr captured so far.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Waits until the captured output contains <paramref name="text"/>; throws (with the output) on timeout or early exit.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (Output.Contains(text, StringComparison.Ordinal))
            {
                return;
            }
            if (_process.HasExited)
            {
                await Task.Delay(50).ConfigureAwait(false);
                if (Output.Contains(text, StringComparison.Ordinal))
                {
                    return;
                }
                throw new InvalidOperationException($"Process exited ({_process.ExitCode}) before printing '{text}'.\n{CommandLine}\n{Output}");
            }
            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for '{text}'.\n{CommandLine}\n{Output}");
            }
            await Task.Delay(25).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for exit; returns the exit code or null on timeout.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        try { await Task.WhenAll(_outClosed.Task, _errClosed.Task).WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false); }
        catch (TimeoutException) { }
        return _process.ExitCode;
    }

    /// <summary>Sends a signal to the process. Note: when started via runuser, signals go to runuser, which forwards TERM/INT/HUP etc.</summary>
    public Task<bool> SignalAsync(string signal) => ProcessRunner.SignalAsync(_process.Id, signal);

    /// <summary>Kills the whole process tree immediately.</summary>
    public void Kill() => ProcessRunner.KillTree(_process);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        ProcessRunner.KillTree(_process);
        try { await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
        catch (TimeoutException) { }
        _process.Dispose();
    }
}
