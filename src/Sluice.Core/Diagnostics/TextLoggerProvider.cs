using Microsoft.Extensions.Logging;

namespace Sluice.Diagnostics;

/// <summary>
/// Writes PgBouncer-format lines to stderr and optionally a log file. Lines are queued and written by one
/// thread so a slow terminal never stalls a connection.
/// </summary>
public sealed class TextLoggerProvider : ILoggerProvider
{
    private readonly System.Threading.Channels.Channel<string> _lines =
        System.Threading.Channels.Channel.CreateBounded<string>(new System.Threading.Channels.BoundedChannelOptions(10_000)
        {
            FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite,
            SingleReader = true,
        });
    private readonly Thread _writer;
    private readonly TimeProvider _time;
    private volatile TextWriter? _file;
    private readonly bool _stderr;

    public TextLoggerProvider(LogLevel minimumLevel, bool writeToStderr, string? logFile, TimeProvider? time = null)
    {
        MinimumLevel = minimumLevel;
        _stderr = writeToStderr;
        _time = time ?? TimeProvider.System;
        ReopenFile(logFile);
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "sluice-log" };
        _writer.Start();
    }

    public LogLevel MinimumLevel { get; set; }

    /// <summary>Opens the log file again, for logrotate (called on RELOAD / SIGHUP).</summary>
    public void ReopenFile(string? path)
    {
        var old = _file;
        _file = string.IsNullOrEmpty(path) ? null : new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        old?.Dispose();
    }

    public ILogger CreateLogger(string categoryName) => new TextLogger(this);

    public void Dispose()
    {
        _lines.Writer.TryComplete();
        _writer.Join(TimeSpan.FromSeconds(2));
        _file?.Dispose();
    }

    internal void Enqueue(string line) => _lines.Writer.TryWrite(line);

    internal DateTimeOffset Now => _time.GetUtcNow();

    private void WriteLoop()
    {
        var reader = _lines.Reader;
        var stderr = Console.Error;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (reader.TryRead(out var line))
            {
                if (_stderr)
                {
                    stderr.WriteLine(line);
                }
                _file?.WriteLine(line);
            }
            stderr.Flush();
        }
    }

    private sealed class TextLogger(TextLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= provider.MinimumLevel && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            provider.Enqueue(PgBouncerLogFormatter.Format(provider.Now, logLevel, formatter(state, exception), exception));
        }
    }
}
