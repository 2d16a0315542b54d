using System.Globalization;
using BenchmarkDotNet.Running;

namespace Referral.Benchmarks;

public static class Program
{
    public static void Main(string[] args)
    {
        foreach (var summary in BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args))
        {
            foreach (var report in summary.Reports.Where(r => r.BenchmarkCase.Descriptor.Type == typeof(LaunchBenchmarks) && r.ResultStatistics is not null))
            {
                var mean = TimeSpan.FromTicks((long)(report.ResultStatistics!.Mean / 100));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Launch to form: {mean.TotalMilliseconds:0} ms mean = {mean / LaunchBenchmarks.Latency:0.00}x the {LaunchBenchmarks.Latency.TotalMilliseconds:0} ms EHR latency (target: at most 4x)"));
            }
        }
    }
}
