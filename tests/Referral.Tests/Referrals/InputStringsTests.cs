using System.Net;
using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Referrals;

/// <summary>
/// FHIR's string rules on every operation's Parameters (the referral's own are in <see cref="BadInputTests"/>), and the
/// profile a stored referral claims. Runs with <see cref="BadInputTests"/>, alone, so counting storage is fair.
/// </summary>
[Collection(nameof(StorageSnapshot))]
public sealed class InputStringsTests(AzuriteFixture azurite, SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Parameters With(string name, string text)
    {
        var parameters = new Parameters();
        parameters.Add(name, new FhirString(text));
        return parameters;
    }

    private static Parameters SessionWithNote(string note)
    {
        var session = Session();
        session.Parameter.Single(p => p.Name == "note").Value = new FhirString(note);
        return session;
    }

    public static TheoryData<string, char> Operations()
    {
        var data = new TheoryData<string, char>();
        foreach (var operation in new[] { "accept", "decline", "cancel", "complete", "request-renewal", "record-session" })
        {
            foreach (var control in new[] { '\u0000', '\u0007', '\u001B' })
            {
                data.Add(operation, control);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task A_control_character_in_an_operations_Parameters_is_refused_naming_the_parameter_and_nothing_is_stored_or_queued(string operation, char control)
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        using var therapist = scenario.AsTherapist();
        using var read = await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct);
        var etag = read.Headers.ETag?.ToString();
        var before = await BadInputTests.SnapshotAsync(azurite.ConnectionString, Ct);

        var text = $"Eased{control}[31m overnight";
        var (body, parameter, status) = operation switch
        {
            "accept" => (With("note", text), "note", HttpStatusCode.BadRequest),
            "complete" => (With("outcome", text), "outcome", HttpStatusCode.BadRequest),
            "record-session" => (SessionWithNote(text), "note", HttpStatusCode.UnprocessableEntity),
            _ => (With("reason", text), "reason", HttpStatusCode.BadRequest),
        };
        var escaped = FhirJson.Serialize(body);
        var code = $"\\u{(int)control:x4}";
        Assert.Contains(code, escaped, StringComparison.OrdinalIgnoreCase);

        // As FHIR JSON carries it (escaped), and raw (which is not even JSON).
        using var refused = await therapist.PostAsync(Url($"/api/fhir/Task/{id}/${operation}"), Body(escaped), Ct);
        using var raw = await therapist.PostAsync(Url($"/api/fhir/Task/{id}/${operation}"),
            Body(escaped.Replace(code, control.ToString(), StringComparison.OrdinalIgnoreCase)), Ct);

        Assert.Equal(status, refused.StatusCode);
        var outcome = await ReadAsync<OperationOutcome>(refused);
        var issue = Assert.Single(outcome.Issue);
        Assert.Equal(ValidationRules.StringCharacters, issue.RuleOf());
        Assert.Equal($"Parameters.parameter.where(name='{parameter}').value", Assert.Single(issue.Expression));
        Assert.Equal(HttpStatusCode.BadRequest, raw.StatusCode);
        Assert.NotEmpty((await ReadAsync<OperationOutcome>(raw)).Issue);

        Assert.Equal(before, await BadInputTests.SnapshotAsync(azurite.ConnectionString, Ct));
        using var after = await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct);
        Assert.Equal(etag, after.Headers.ETag?.ToString());
        Assert.Equal(0, (await ReadAsync<Bundle>(await therapist.GetAsync(Url($"/api/fhir/Procedure?based-on=ServiceRequest/{id}"), Ct))).Total);
    }

    [Fact]
    public async Task A_referral_claiming_another_profile_is_stored_claiming_ours_only()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var draft = scenario.Draft();
        var referral = FhirJson.TryParse<ServiceRequest>(Json(draft, scenario.WrittenAt(draft)), out var parsed, out _) ? parsed! : throw new InvalidOperationException();
        referral.Meta = new Meta
        {
            Profile = ["http://elsewhere.example/fhir/StructureDefinition/other-referral"],
            Tag = [new Coding("http://elsewhere.example/tags", "imported")],
        };
        using var physician = scenario.AsPhysician();

        using var created = await physician.PostAsync(Url("/api/fhir/ServiceRequest"), Body(referral), Ct);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var answered = await ReadAsync<ServiceRequest>(created);
        Assert.Equal([MedicalMassageServiceRequest.Profile], answered.Meta!.Profile);
        Assert.Empty(answered.Meta!.Tag);
        using var read = await physician.GetAsync(Url($"/api/fhir/ServiceRequest/{answered.Id}"), Ct);
        var stored = await ReadAsync<ServiceRequest>(read);
        Assert.Equal([MedicalMassageServiceRequest.Profile], stored.Meta!.Profile);
    }
}
