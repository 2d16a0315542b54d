using System.Net;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Audit;
using Referral.Functions.Security;
using Referral.Functions.Storage;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Storage;

/// <summary>
/// The audit trail's group commit (issue 17): the entries of requests answered at the same moment are written together,
/// each request answering only once its entry is stored, into a day's shards; the audit search finds every one of them,
/// newest first, page by page; a batch that fails fails every request it carried.
/// </summary>
public sealed class AuditGroupCommitTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Concurrent_reads_are_each_audited_with_fewer_audit_writes_than_reads_and_the_audit_search_pages_through_every_one_newest_first()
    {
        const int reads = 32;
        await using var log = await StorageRequestLog.StartAsync(azurite.ConnectionString);
        await using var scenario = new ReferralScenario(azurite, identity, settings: new Dictionary<string, string?> { [StorageAccount.SettingName] = log.ConnectionString });
        await scenario.SeedTherapistsAsync();
        var (submitted, request) = await scenario.SubmitAsync(scenario.Draft());
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        using var physician = scenario.AsPhysician();
        var url = Url($"/api/fhir/ServiceRequest/{request!.Id}");
        using (var warm = await physician.GetAsync(url, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        var from = log.Requests.Count;
        var answers = await Task.WhenAll(Enumerable.Range(0, reads).Select(_ => physician.GetAsync(url, Ct)));
        var during = log.Since(from);
        var auditWrites = during.Count(r => r is "POST AuditEvents insert" or "POST $batch");

        // Every page of the audit search, 7 events a page, by the patient.
        using var admin = scenario.AsAdmin();
        var events = new List<AuditEvent>();
        Uri? next = Url($"/api/fhir/AuditEvent?patient=Patient/{scenario.Patient}&_count=7");
        var pages = 0;
        while (next is not null && pages++ < 50)
        {
            using var response = await admin.GetAsync(next, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await ReadAsync<Bundle>(response);
            events.AddRange(page.Entry.Select(e => Assert.IsType<AuditEvent>(e.Resource)));
            next = page.Link.FirstOrDefault(l => l.Relation == "next")?.Url is { } link ? new Uri(link) : null;
        }

        TestContext.Current.SendDiagnosticMessage($"{reads} concurrent reads: {auditWrites} audit writes; search: {pages} pages, {events.Count} events");
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        foreach (var answer in answers)
        {
            answer.Dispose();
        }

        Assert.InRange(auditWrites, 1, reads - 1);
        Assert.Equal(reads + 1, events.Count(e => e.Subtype.Single().Code == "read" && e.Entity[0].What?.Reference == $"ServiceRequest/{request.Id}"));
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(events.Select(e => e.Recorded).OrderDescending(), events.Select(e => e.Recorded));
        Assert.True(pages > 1, "The search served more than one page.");
    }

    [Fact]
    public async Task A_batch_that_storage_refuses_fails_every_request_it_carried_and_each_request_that_answered_is_found_by_the_search()
    {
        await using var scenario = new ReferralScenario(azurite, identity);
        var trail = scenario.App.Services.GetRequiredService<AuditTrail>();
        var agent = $"PractitionerRole/{scenario.Therapist}";
        var caller = new Caller { Kind = CallerKind.Therapist, Id = scenario.Therapist, Display = agent };
        AuditEntry Entry(int n, string? address = null) => new()
        {
            Caller = caller,
            Interaction = "read",
            Action = AuditEvent.AuditEventAction.R,
            Entity = $"Task/{scenario.Therapist}.{n}",
            Success = true,
            SourceAddress = address,
        };

        // The first entry takes a writer; the rest arrive while it writes and go together, the one too large for a row (over a MiB) among them.
        var recordings = Enumerable.Range(0, 24)
            .Select(n => trail.RecordAsync(Entry(n, n == 12 ? new string('a', 1_100_000) : "10.0.0.1"), Ct))
            .ToList();
        var settled = await Task.WhenAll(recordings.Select(async r =>
        {
            try
            {
                await r;
                return true;
            }
            catch (Azure.RequestFailedException)
            {
                return false;
            }
        }));
        var today = DateOnly.FromDateTime(scenario.Time.GetUtcNow().UtcDateTime);
        var (found, _) = await trail.SearchAsync(today, today, null, agent, 200, null, Ct);
        var stored = found.Select(e => e.Entity[0].What!.Reference).ToHashSet(StringComparer.Ordinal);

        TestContext.Current.SendDiagnosticMessage($"{settled.Count(s => !s)} of {settled.Length} recordings failed with the oversized one");
        Assert.False(settled[12], "The entry too large for a row was not stored, and said so.");
        Assert.DoesNotContain($"Task/{scenario.Therapist}.12", stored);
        // No silent loss: a recording that answered is stored, one that failed is not.
        Assert.All(Enumerable.Range(0, 24), n => Assert.Equal(settled[n], stored.Contains($"Task/{scenario.Therapist}.{n}")));
        Assert.Equal(settled.Count(s => s), found.Count);
    }
}
