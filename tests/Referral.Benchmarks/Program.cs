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

            foreach (var report in summary.Reports.Where(r => r.BenchmarkCase.Descriptor.Type == typeof(CdsHooksBenchmarks)))
            {
                // One call per iteration (invocationCount 1), so each measured run is one call's latency.
                var calls = report.GetResultRuns().Select(m => m.Nanoseconds / m.Operations / 1e6).Order().ToList();
                if (calls.Count == 0)
                {
                    continue;
                }

                var p99 = calls[Math.Min(calls.Count - 1, (int)Math.Ceiling(calls.Count * 0.99) - 1)];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"CDS patient-view, FHIR server at {CdsHooksBenchmarks.FhirLatency.TotalMilliseconds:0} ms: p99 {p99:0} ms over {calls.Count} calls, median {calls[calls.Count / 2]:0} ms (target: p99 under {CdsHooksBenchmarks.Target.TotalMilliseconds:0} ms){(p99 < CdsHooksBenchmarks.Target.TotalMilliseconds ? "" : " MISSED")}"));
            }
        }
    }
}
