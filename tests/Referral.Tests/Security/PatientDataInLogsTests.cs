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
}
