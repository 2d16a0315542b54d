using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;

namespace Referral.Tests.Operations;

/// <summary>
/// Issue 16's metrics: a refused submit is counted by why it was refused (the rule, or the check), and the count's
/// tags carry no value from the request.
/// </summary>
public sealed class RefusalMetricsTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private const string Instrument = "referral.referrals.refused";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Refused_submits_are_counted_by_the_rule_or_check_that_refused_them_and_nothing_else()
    {
        var reasons = new ConcurrentBag<string>();
        var tagValues = new ConcurrentBag<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == Instrument)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                tagValues.Add($"{tag.Key}={tag.Value}");
                if (tag.Key == "reason")
                {
                    reasons.Add(tag.Value as string ?? "");
                }
            }
        });
        listener.Start();

        await using var scenario = new ReferralScenario(azurite, identity);
        await scenario.SeedTherapistsAsync();
        var valid = Json(scenario.Draft());
        var secret = "Practitioner/impostor-" + Guid.NewGuid().ToString("N");

        using var physician = scenario.AsPhysician();
        using (var notMine = await physician.PostAsync(Url("/api/fhir/ServiceRequest"), Body(Changed(valid, j => j["requester"]!["reference"] = secret)), Ct))
        {
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, notMine.StatusCode);
        }

        using (var unreadable = await physician.PostAsync(Url("/api/fhir/ServiceRequest"), Body(Changed(valid, j => j["resourceType"] = "MassageOrder")), Ct))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, unreadable.StatusCode);
        }

        using (var sent = await physician.PostAsync(Url("/api/fhir/ServiceRequest"), Body(valid), Ct))
        {
            Assert.True(sent.IsSuccessStatusCode, await sent.Content.ReadAsStringAsync(Ct));
        }

        Assert.Contains("not-the-requester", reasons);
        Assert.Contains(reasons, r => r.Length > 0 && r != "not-the-requester" && r != "unknown");
        Assert.DoesNotContain(tagValues, v => v.Contains(secret, StringComparison.Ordinal) || v.Contains("MassageOrder", StringComparison.Ordinal));
    }

    private static string Changed(string valid, Action<JsonObject> change)
    {
        var node = JsonNode.Parse(valid)!.AsObject();
        change(node);
        return node.ToJsonString();
    }
}
