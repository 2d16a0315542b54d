using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Referral.Functions.Conformance;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Tests.Infrastructure;
using Referral.Tests.Model;

namespace Referral.Tests.Conformance;

/// <summary>
/// The package read by a second, independent validator from the npm registry (issue 20): Medplum's <c>@medplum/core</c>
/// loads every StructureDefinition of the package and validates a referral the model builds against the profile
/// (tests/PackageCheck/check.mjs, run with node; its dependencies are pinned in that folder's lockfile).
/// </summary>
public sealed class SecondValidatorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Medplums_validator_loads_every_profile_of_the_package_indexes_its_search_parameters_and_finds_a_built_referral_valid()
    {
        var folder = Repository.PathTo("tests", "PackageCheck");
        if (!Directory.Exists(Path.Combine(folder, "node_modules", "@medplum", "core")))
        {
            var (installed, installOutput) = await RunAsync(folder, "npm", "ci", "--no-audit", "--no-fund");
            Assert.True(installed == 0, installOutput);
        }

        var work = Directory.CreateTempSubdirectory("referral-package-");
        try
        {
            await using (var gzip = new GZipStream(new MemoryStream(ReferralPackage.Instance.Tarball), CompressionMode.Decompress))
            {
                await TarFile.ExtractToDirectoryAsync(gzip, work.FullName, overwriteFiles: true, Ct);
            }

            var examples = Directory.CreateDirectory(Path.Combine(work.FullName, "examples"));
            var referral = ModelFixtures.Referral();
            referral.Id = "example";
            MedicalMassageServiceRequest.ClaimProfile(referral);
            await File.WriteAllTextAsync(Path.Combine(examples.FullName, "ServiceRequest-example.json"), FhirJson.Serialize(referral), Ct);

            var (exit, output) = await RunAsync(folder, "node", "check.mjs", work.FullName, examples.FullName);

            Assert.True(exit == 0, output);
            using var result = JsonDocument.Parse(output.Split('\n').Single(l => l.StartsWith("{\"package\"", StringComparison.Ordinal)));
            Assert.Equal(ReferralPackage.Instance.Resources.OfType<Hl7.Fhir.Model.StructureDefinition>().Count(), result.RootElement.GetProperty("loaded").GetInt32());
            Assert.Equal(ReferralPackage.Instance.Resources.OfType<Hl7.Fhir.Model.SearchParameter>().Count(), result.RootElement.GetProperty("searchParameters").GetInt32());
            Assert.Equal(1, result.RootElement.GetProperty("validated").GetInt32());
            Assert.Empty(result.RootElement.GetProperty("errors").EnumerateArray());
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task<(int Exit, string Output)> RunAsync(string folder, string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        return (process.ExitCode, await stdout + await stderr);
    }
}
