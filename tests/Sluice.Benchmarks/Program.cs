using BenchmarkDotNet.Running;
using Sluice.Benchmarks;

if (args.Length > 0 && args[0] == "--alloc-check")
{
    return AllocCheck.Run(args[1..]);
}
BenchmarkSwitcher.FromAssembly(typeof(HeaderScanBenchmarks).Assembly).Run(args);
return 0;
