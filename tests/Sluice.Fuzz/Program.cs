using SharpFuzz;
using Sluice.Fuzz;

// Sluice.Fuzz list                      the targets
// Sluice.Fuzz TARGET                    run under afl-fuzz (SharpFuzz; without AFL: one input from stdin)
// Sluice.Fuzz TARGET --replay DIR|FILE  run every file once, print a summary, exit 1 on the first failure
if (args.Length == 0 || args[0] is "list" or "-h" or "--help")
{
    Console.WriteLine("usage: Sluice.Fuzz TARGET [--replay DIR|FILE]   targets:");
    foreach (var t in FuzzTargets.All)
    {
        Console.WriteLine($"  {t.Name,-16} {t.Covers}");
    }
    return args.Length == 0 ? 2 : 0;
}

var target = FuzzTargets.Find(args[0]);
if (target is null)
{
    Console.Error.WriteLine($"unknown target '{args[0]}' (try: list)");
    return 2;
}

if (args.Length == 3 && args[1] == "--replay")
{
    ProvideTraceMemory();
    try
    {
        var count = File.Exists(args[2]) ? RunOne(target, args[2]) : CorpusReplay.Run(target, args[2]);
        Console.WriteLine($"{target.Name}: {count} inputs replayed, no failure");
        return 0;
    }
    catch (CorpusReplayException e)
    {
        Console.Error.WriteLine($"{target.Name}: FAILED on {e.File}");
        Console.Error.WriteLine(e.InnerException);
        return 1;
    }
}
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Sluice.Fuzz TARGET [--replay DIR|FILE]");
    return 2;
}

// Persistent mode: one process runs many inputs; an exception escaping Run is reported to AFL as a crash.
// SLUICE_FUZZ_OUT_OF_PROCESS=1 runs each input in a child process instead (slower, but survives a stack overflow).
if (Environment.GetEnvironmentVariable("SLUICE_FUZZ_OUT_OF_PROCESS") == "1")
{
    Fuzzer.OutOfProcess.Run(stream => target.Run(ReadAll(stream)));
}
else
{
    Fuzzer.Run(stream => target.Run(ReadAll(stream)));
}
return 0;

// After scripts/fuzz.sh instrumented Sluice.Core.dll, every branch writes to SharpFuzz's trace bitmap, which only
// Fuzzer.Run maps from AFL: a replay with the instrumented build needs a bitmap of its own (harmless otherwise).
static unsafe void ProvideTraceMemory()
{
    if (SharpFuzz.Common.Trace.SharedMem == null)
    {
        SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
    }
}

static int RunOne(FuzzTarget target, string file)
{
    try
    {
        target.Run(File.ReadAllBytes(file));
    }
    catch (Exception e)
    {
        throw new CorpusReplayException(file, e);
    }
    return 1;
}

static byte[] ReadAll(Stream stream)
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    return buffer.ToArray();
}
