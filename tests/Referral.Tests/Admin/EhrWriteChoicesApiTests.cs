using System.Net;
using System.Text.Json;
using Referral.Functions.WriteBack;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Admin;

/// <summary>
/// <c>GET /api/admin/ehrs</c> through the functions API's real pipeline and JwtBearer handlers: what the write-back
/// puts in each configured EHR's charts, for administrators only, and never in the public health probe.
/// </summary>
public sealed class EhrWriteChoicesApiTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static readonly Uri Ehrs = new(EhrRegistrationEndpoints.Path, UriKind.Relative);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Four EHRs, each choosing differently (every key of the first set, over the Development settings' own Ehrs:0).</summary>
    private static readonly Dictionary<string, string?> Registrations = new()
    {
        ["Ehrs:0:Iss"] = "https://observations.example/fhir/",
        ["Ehrs:0:ClientId"] = "mmr-observations",
        ["Ehrs:0:WriteBack"] = "true",
        ["Ehrs:0:WriteServiceRequest"] = "true",
        ["Ehrs:0:Writes"] = "Observations",
        ["Ehrs:0:ReportEverySessions"] = "4",
        ["Ehrs:1:Iss"] = "https://documents.example/fhir",
        ["Ehrs:1:ClientId"] = "mmr-documents",
        ["Ehrs:1:WriteBack"] = "true",
        ["Ehrs:1:Writes"] = "Documents",
        ["Ehrs:1:ReportEverySessions"] = "6",
        ["Ehrs:2:Iss"] = "https://both.example/fhir",
        ["Ehrs:2:ClientId"] = "mmr-both",
        ["Ehrs:2:WriteBack"] = "true",
        ["Ehrs:3:Iss"] = "https://off.example/fhir",
        ["Ehrs:3:ClientId"] = "mmr-off",
        ["Ehrs:3:Writes"] = "Documents",
    };

    [Fact]
    public async Task An_administrator_reads_each_registered_EHRs_write_back_choice_and_nothing_else()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity, Registrations);
        using var client = app.ClientWith(identity.Admin());

        using var response = await client.GetAsync(Ehrs, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var ehrs = body.RootElement.GetProperty("ehrs").EnumerateArray().ToList();
        Assert.Equal(
            [
                "https://observations.example/fhir|mmr-observations|True|True|observations|4",
                "https://documents.example/fhir|mmr-documents|True|False|documents|6",
                "https://both.example/fhir|mmr-both|True|False|both|4",
                "https://off.example/fhir|mmr-off|False|False|nothing|4",
            ],
            ehrs.Select(e => string.Join('|',
                e.GetProperty("iss").GetString(), e.GetProperty("clientId").GetString(), e.GetProperty("writeBack").GetBoolean(),
                e.GetProperty("writeServiceRequest").GetBoolean(), e.GetProperty("chartWrites").GetString(), e.GetProperty("reportEverySessions").GetInt32())));
        Assert.All(ehrs, e => Assert.Equal(
            ["chartWrites", "clientId", "iss", "reportEverySessions", "writeBack", "writeServiceRequest"],
            e.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)));
    }

    [Fact]
    public async Task The_EHR_list_is_refused_without_a_token_and_to_a_therapist_or_physician_and_the_public_health_probe_does_not_name_the_EHRs()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity, Registrations);

        using (var anonymous = app.CreateClient())
        using (var response = await anonymous.GetAsync(Ehrs, Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.DoesNotContain("documents.example", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        foreach (var token in new[] { identity.Therapist(), identity.Physician() })
        {
            using var client = app.ClientWith(token);
            using var response = await client.GetAsync(Ehrs, Ct);

            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.DoesNotContain("documents.example", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        using var probe = app.CreateClient();
        using var probeResponse = await probe.GetAsync(new Uri("/api/health", UriKind.Relative), Ct);
        var health = await probeResponse.Content.ReadAsStringAsync(Ct);
        Assert.Contains("\"storage\"", health, StringComparison.Ordinal);
        foreach (var host in new[] { "observations.example", "documents.example", "both.example", "off.example", "mmr-" })
        {
            Assert.DoesNotContain(host, health, StringComparison.Ordinal);
        }
    }
}
