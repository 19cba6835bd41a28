namespace Sluice.Cli;

/// <summary>
/// Runs socket completions on the epoll threads themselves instead of queueing each one to the thread pool.
/// A pooler's continuation does a little parsing and one non-blocking send, so the queueing cost more than the
/// work: a futex wake and a context switch per message, measured as about a third of Sluice's CPU per
/// transaction (docs/benchmarks.md). PgBouncer's single event loop works the same way. .NET reads the switch
/// from the environment when the socket engine starts, so it is set before the first socket is made; an
/// operator's own value (0 to turn it off) wins.
/// </summary>
internal static class SocketEngineTuning
{
    private const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    public static void Apply()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletions, "1");
        }
    }
}
