using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Sluice.Testing.Hosting;

/// <summary>
/// Logger provider for the in-process pooler: keeps the most recent lines in memory (for assertion messages and
/// the dump written at dispose) and echoes warnings and errors to the xunit output.
/// </summary>
public sealed class TestLoggerProvider : ILoggerProvider
{
    private const int MaxLines = 4000;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ITestOutputHelper? _output;
    private int _count;

    public TestLoggerProvider(ITestOutputHelper? output, LogLevel minLevel = LogLevel.Information)
    {
        _output = output;
        MinLevel = minLevel;
    }

    public LogLevel MinLevel { get; }

    /// <summary>The captured lines (bounded to the most recent few thousand).</summary>
    public IReadOnlyList<string> Lines => _lines.ToArray();

    /// <summary>The last <paramref name="count"/> captured lines joined with newlines.</summary>
    public string Tail(int count = 60) => string.Join('\n', _lines.ToArray().TakeLast(count));

    public ILogger CreateLogger(string categoryName) => new TestLogger(this, categoryName);

    internal void Write(LogLevel level, string text)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:HH:mm:ss.fff} {level,-11} {text}");
        _lines.Enqueue(line);
        if (Interlocked.Increment(ref _count) > MaxLines)
        {
            _lines.TryDequeue(out _);
            Interlocked.Decrement(ref _count);
        }
        if (level >= LogLevel.Warning)
        {
            WriteOutput("[sluice] " + line);
        }
    }

    /// <summary>Writes to the xunit output, ignoring the error xunit raises once the test is over.</summary>
    public void WriteOutput(string text)
    {
        if (_output is null)
        {
            return;
        }
        try
        {
            _output.WriteLine(text);
        }
        catch (InvalidOperationException)
        {
            // the test already finished
        }
    }

    public void Dispose()
    {
    }

    private sealed class TestLogger(TestLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= provider.MinLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            var text = formatter(state, exception);
            if (exception is not null)
            {
                text += " | " + exception;
            }
            provider.Write(logLevel, category == "Sluice" ? text : category + ": " + text);
        }
    }
}
