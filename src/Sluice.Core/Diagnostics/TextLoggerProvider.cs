using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Sluice.Diagnostics;

/// <summary>
/// Writes log lines to stderr, the logfile and syslog, in PgBouncer's line format or as JSON.
/// A line is written by the thread that logs it, as PgBouncer does: handing every line to a writer thread
/// cost a futex wake and two context switches per line, which at log_connections' two lines per login was a
/// large part of a login's CPU. Only when another thread has been writing for more than a few milliseconds (a
/// slow terminal, a stalled pipe) is the line queued for the writer thread instead, so a stuck output holds up at most the one
/// thread that is writing (and each other thread for at most a few milliseconds), never the others.
/// </summary>
public sealed class TextLoggerProvider : ILoggerProvider
{
    private readonly System.Threading.Channels.Channel<(LogLevel Level, string Line, string Message)> _lines =
        System.Threading.Channels.Channel.CreateBounded<(LogLevel, string, string)>(new System.Threading.Channels.BoundedChannelOptions(10_000)
        {
            FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite,
            SingleReader = true,
        });
    private readonly Thread _writer;
    private readonly Lock _writeLock = new();
    private static readonly TimeSpan ContendedWriteWait = TimeSpan.FromMilliseconds(5);
    private int _queued;
    private readonly TimeProvider _time;
    private readonly bool _stderr;
    private volatile TextWriter? _file;
    private volatile SyslogWriter? _syslog;
    private volatile bool _json;

    public TextLoggerProvider(LogLevel minimumLevel, bool writeToStderr, string? logFile, TimeProvider? time = null)
    {
        MinimumLevel = minimumLevel;
        _commandLineLevel = minimumLevel;
        _stderr = writeToStderr;
        _time = time ?? TimeProvider.System;
        ReopenFile(logFile);
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "sluice-log" };
        _writer.Start();
    }

    public LogLevel MinimumLevel { get; set; }

    /// <summary>What -v on the command line asked for: a config's lower verbose cannot take it back.</summary>
    private readonly LogLevel _commandLineLevel;

    /// <summary>PgBouncer's verbose: 0 logs info and up, 1 adds debug lines, 2 and more add noise.</summary>
    public static LogLevel LevelForVerbose(int verbose) => verbose switch { <= 0 => LogLevel.Information, 1 => LogLevel.Debug, _ => LogLevel.Trace };

    /// <summary>Applies the log settings of a (re)loaded config: file reopened (logrotate), syslog, format.</summary>
    public void Configure(Config.PoolerConfig config)
    {
        var opened = config.Syslog ? new SyslogWriter(config.SyslogIdent, config.SyslogFacility) : null;
        lock (_writeLock)
        {
            var old = _syslog;
            _syslog = opened;
            old?.Dispose();
        }
        _json = config.LogFormat == "json";
        // verbose can be changed while running (SET verbose on the console, RELOAD).
        var configured = LevelForVerbose(config.Verbose);
        MinimumLevel = configured < _commandLineLevel ? configured : _commandLineLevel;
        // Last, so that a file that cannot be opened is reported in the configured format and to syslog.
        ReopenFile(config.Logfile);
    }

    /// <summary>
    /// Opens the log file again, for logrotate (called on RELOAD / SIGHUP). A file that cannot be opened is reported
    /// and skipped, as PgBouncer keeps running without it: at start the lines go to stderr and syslog only, and on a
    /// reload the file that was open stays in use rather than losing the log to a rotation race or a typo.
    /// </summary>
    public void ReopenFile(string? path)
    {
        TextWriter? opened = null;
        if (!string.IsNullOrEmpty(path))
        {
            try
            {
                opened = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException or System.Security.SecurityException)
            {
                Emit(LogLevel.Warning, default, $"cannot open logfile \"{path}\": {e.Message}", null);
                return;
            }
        }
        lock (_writeLock)
        {
            var old = _file;
            _file = opened;
            old?.Dispose();
        }
    }

    public ILogger CreateLogger(string categoryName) => new TextLogger(this);

    public void Dispose()
    {
        _lines.Writer.TryComplete();
        _writer.Join(TimeSpan.FromSeconds(2));
        _file?.Dispose();
        _syslog?.Dispose();
    }

    private void Emit(LogLevel level, EventId eventId, string message, Exception? exception)
    {
        var now = _time.GetUtcNow();
        var line = _json
            ? JsonSerializer.Serialize(new LogRecord(now.UtcDateTime.ToString("O"), Environment.ProcessId, PgBouncerLogFormatter.LevelName(level), eventId.Id, eventId.Name, message, exception?.ToString()), LogRecordContext.Default.LogRecord)
            : PgBouncerLogFormatter.Format(now, level, message, exception);
        // Another thread writing a line holds the lock for microseconds: waiting that long is far cheaper than the
        // queue's hand-off (a thread-pool wake and the writer thread's wake, measured at about one of each per
        // login line). Only a writer stuck longer than the bound sends this line, and every line after it while
        // lines are queued, to the writer thread.
        if (Volatile.Read(ref _queued) == 0 && _writeLock.TryEnter(ContendedWriteWait))
        {
            try
            {
                if (_queued == 0)
                {
                    Write(level, line, message);
                    return;
                }
            }
            finally
            {
                _writeLock.Exit();
            }
        }
        Interlocked.Increment(ref _queued);
        if (!_lines.Writer.TryWrite((level, line, message)))
        {
            Interlocked.Decrement(ref _queued);
        }
    }

    private void Write(LogLevel level, string line, string message)
    {
        if (_stderr)
        {
            Console.Error.WriteLine(line);
        }
        _file?.WriteLine(line);
        _syslog?.Write(level, message);
    }

    private void WriteLoop()
    {
        var reader = _lines.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (reader.TryRead(out var entry))
            {
                lock (_writeLock)
                {
                    Write(entry.Level, entry.Line, entry.Message);
                    Interlocked.Decrement(ref _queued);
                }
            }
        }
    }

    private sealed class TextLogger(TextLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= provider.MinimumLevel && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Emit(logLevel, eventId, formatter(state, exception), exception);
            }
        }
    }
}

/// <summary>One JSON log line (log_format = json).</summary>
internal sealed record LogRecord(string Time, int Pid, string Level, int EventId, string? Event, string Message, string? Exception);

[System.Text.Json.Serialization.JsonSerializable(typeof(LogRecord))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class LogRecordContext : System.Text.Json.Serialization.JsonSerializerContext;
