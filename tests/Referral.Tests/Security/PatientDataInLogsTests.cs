using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Security;

/// <summary>Whatever the app logs at its configured levels, while referrals flow through it, names no patient.</summary>
public sealed class PatientDataInLogsTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    [Fact]
    public async Task A_referrals_journey_logs_no_patient_identifier_name_or_note()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = new ReferralScenario(azurite, identity);
        var logs = new RecordingLoggerProvider();
        await using var app = scenario.App.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<ILoggerProvider>(logs)));
        await scenario.SeedTherapistsAsync();
        var draft = scenario.Draft();

        using var physician = app.ClientWith(identity.Physician(scenario.Physician, scenario.Patient));
        using var therapist = app.ClientWith(identity.Therapist(scenario.Therapist));
        using var submitted = await physician.PostAsync(Url("/api/fhir/ServiceRequest"), Body(ReferralScenario.Json(draft)), ct);
        var id = (await ReadAsync<Hl7.Fhir.Model.ServiceRequest>(submitted)).Id;
        await physician.GetAsync(Url($"/api/fhir/ServiceRequest?patient={scenario.Patient}"), ct);
        await therapist.PostAsync(Url($"/api/fhir/Task/{id}/$decline"), Body(Reason("Not taking new wrist cases")), ct);
        await physician.PostAsync(Url("/api/fhir/ServiceRequest"), Body("{\"resourceType\":\"ServiceRequest\",\"subject\":{\"reference\":\"Patient/" + scenario.Patient + "\"}}"), ct);

        Assert.NotEmpty(logs.Messages);
        Assert.DoesNotContain(logs.Messages, m => m.Contains(scenario.Patient, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains("Alex Doe", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains(draft.Note!, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains("Not taking new wrist cases", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_every_log_level_raised_to_trace_the_request_log_names_routes_but_no_patient_or_referral_id()
    {
        var ct = TestContext.Current.CancellationToken;
        // What an operator does while diagnosing: every category, the framework's too, at Trace.
        var everything = new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore.Routing"] = "Trace",
            ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace",
        };
        await using var scenario = new ReferralScenario(azurite, identity, settings: everything);
        var logs = new RecordingLoggerProvider();
        await using var app = scenario.App.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<ILoggerProvider>(logs)));
        await scenario.SeedTherapistsAsync();

        using var physician = app.ClientWith(identity.Physician(scenario.Physician, scenario.Patient));
        using var therapist = app.ClientWith(identity.Therapist(scenario.Therapist));
        using var submitted = await physician.PostAsync(Url("/api/fhir/ServiceRequest"), Body(ReferralScenario.Json(scenario.Draft())), ct);
        Assert.Equal(System.Net.HttpStatusCode.Created, submitted.StatusCode);
        var id = Assert.IsType<string>((await ReadAsync<Hl7.Fhir.Model.ServiceRequest>(submitted)).Id);
        using var search = await physician.GetAsync(Url($"/api/fhir/ServiceRequest?patient=Patient/{scenario.Patient}&_count=5"), ct);
        using var read = await physician.GetAsync(Url($"/api/fhir/ServiceRequest/{id}"), ct);
        using var accepted = await therapist.PostAsync(Url($"/api/fhir/Task/{id}/$accept"), Body(new Hl7.Fhir.Model.Parameters()), ct);
        using var unknown = await physician.GetAsync(Url($"/api/fhir/Patient/{scenario.Patient}"), ct);
        // A FHIR batch: each entry has its own line, as a call of its own would.
        using var batch = await physician.PostAsync(Url("/api/fhir"), Body(new Hl7.Fhir.Model.Bundle
        {
            Type = Hl7.Fhir.Model.Bundle.BundleType.Batch,
            Entry =
            [
                new() { Request = new() { Method = Hl7.Fhir.Model.Bundle.HTTPVerb.GET, Url = $"ServiceRequest?patient=Patient/{scenario.Patient}&status=active" } },
                new() { Request = new() { Method = Hl7.Fhir.Model.Bundle.HTTPVerb.GET, Url = $"ServiceRequest/{id}" } },
            ],
        }), ct);

        // The levels really were raised: the framework's own Debug lines are there.
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Debug && e.Text.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.StartsWith("Referral.Requests: GET /api/fhir/ServiceRequest/{id} 200", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.StartsWith("Referral.Requests: GET /api/fhir/ServiceRequest?patient=REDACTED&_count=REDACTED 200", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.StartsWith("Referral.Requests: GET (no route) 404", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.StartsWith("Referral.Requests: POST /api/fhir 200", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.StartsWith("Referral.Requests: GET /api/fhir/ServiceRequest?patient=REDACTED&status=REDACTED 200", StringComparison.Ordinal));
        Assert.Equal(2, logs.Messages.Count(m => m.StartsWith("Referral.Requests: GET /api/fhir/ServiceRequest/{id} 200", StringComparison.Ordinal)));
        Assert.DoesNotContain(logs.Messages, m => m.Contains(scenario.Patient, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains(id, StringComparison.Ordinal));
    }
}
