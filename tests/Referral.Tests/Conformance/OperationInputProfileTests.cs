using System.Net;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Referral.Functions.Conformance;
using Referral.Model.Conformance;
using Referral.Model.Fhir;
using Referral.Tests.Infrastructure;
using Referral.Tests.Referrals;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Conformance;

/// <summary>
/// Each operation's in parameters as a Parameters profile (its OperationDefinition's inputProfile), judged by Firely's
/// validator on every call: a body the operation's definition does not allow is refused with the parameter named,
/// before the operation reads it; the bodies the API's own clients send conform.
/// </summary>
public sealed class OperationInputProfileTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ReferralPackage Package => ReferralPackage.Instance;

    private static IReadOnlyList<(string Expression, string Message)> Problems(string operation, Parameters parameters, string resource = "Task") =>
        [.. Package.CheckInput(parameters, ReferralOperations.Find(resource, operation)).Select(i => (i.Expression.Single()!, i.Details!.Text!))];

    private static Parameters With(params (string Name, DataType Value)[] values)
    {
        var parameters = new Parameters();
        foreach (var (name, value) in values)
        {
            parameters.Add(name, value);
        }

        return parameters;
    }

    public static TheoryData<string, string> WellFormedCalls => new()
    {
        { "record-session", new FhirJsonSerializer().SerializeToString(ReferralScenario.Session(DateTimeOffset.Parse("2026-11-30T10:00:00+01:00", System.Globalization.CultureInfo.InvariantCulture))) },
        { "accept", "" },
        { "decline", new FhirJsonSerializer().SerializeToString(ReferralScenario.Reason("No room until March.")) },
        { "decline", new FhirJsonSerializer().SerializeToString(With(("reason", new CodeableConcept { Text = "No room until March." }))) },
        { "complete", new FhirJsonSerializer().SerializeToString(CourseCloseAndRenewalTests.Discharge("Pain 6 to 2.", "Home stretches.")) },
        { "request-renewal", new FhirJsonSerializer().SerializeToString(CourseCloseAndRenewalTests.Renewal("Swelling back after flights.", 4)) },
        { "approve-renewal", new FhirJsonSerializer().SerializeToString(RenewalAnswerTests.Approval(4, new DateOnly(2027, 3, 1))) },
        { "decline-renewal", new FhirJsonSerializer().SerializeToString(ReferralScenario.Reason("See me first.")) },
        { "message", new FhirJsonSerializer().SerializeToString(MessageTests.Text("Does the splint stay on?")) },
        { "hold", new FhirJsonSerializer().SerializeToString(ReferralScenario.Reason("Waiting for the physician.")) },
        { "resume", "" },
    };

    [Theory]
    [MemberData(nameof(WellFormedCalls))]
    public void A_call_as_the_API_clients_send_it_conforms_to_its_operations_input_profile(string operation, string json)
    {
        // "": no parameters at all (FHIR JSON has no empty object, so it is not serialized).
        var parameters = json.Length == 0 ? new Parameters() : new FhirJsonDeserializer().Deserialize<Parameters>(json);

        Assert.Empty(Problems(operation, parameters));
    }

    [Fact]
    public void Every_OperationDefinition_names_its_input_profile_and_the_package_holds_it_with_a_snapshot()
    {
        var definitions = Package.Resources.OfType<StructureDefinition>().ToDictionary(d => d.Url!);
        foreach (var operation in Package.Resources.OfType<OperationDefinition>())
        {
            Assert.True(definitions.TryGetValue(operation.InputProfile!, out var profile), $"{operation.Url}: no {operation.InputProfile}");
            Assert.Equal("Parameters", profile.Type);
            Assert.NotEmpty(profile.Snapshot!.Element);
        }
    }

    [Fact]
    public void A_session_with_an_unknown_a_repeated_a_missing_and_a_mistyped_parameter_is_named_at_each()
    {
        var session = ReferralScenario.Session();
        session.Parameter.RemoveAll(p => p.Name == "painAfter");
        session.Parameter.Single(p => p.Name == "minutes").Value = new FhirString("45");
        session.Add("note", new FhirString("Twice."));
        session.Add("mood", new FhirString("good"));

        var problems = Problems("record-session", session);

        Assert.Equal(
        [
            ("Parameters.parameter.where(name='minutes').value", "'minutes' is a valueInteger (How long it lasted.)."),
            ("Parameters.parameter.where(name='mood')",
                "$record-session takes 'start', 'minutes', 'bodySite', 'technique', 'painBefore', 'painAfter', 'rangeOfMotion', 'functionalScore', 'note'; not 'mood'."),
            ("Parameters.parameter.where(name='note')", "'note' may be given once."),
            ("Parameters.parameter.where(name='painAfter')", "'painAfter' is required: a valueInteger (Pain after the session, 0 to 10.)."),
        ], problems.OrderBy(p => p.Expression, StringComparer.Ordinal));
    }

    [Fact]
    public void The_parts_of_a_range_of_motion_and_a_functional_score_are_judged_by_name_and_type()
    {
        var session = ReferralScenario.Session();
        var motion = session.Parameter.Single(p => p.Name == "rangeOfMotion");
        motion.Part.RemoveAll(p => p.Name == "movement");
        motion.Part.Single(p => p.Name == "degrees").Value = new FhirString("55");
        var score = session.Parameter.Single(p => p.Name == "functionalScore");
        score.Value = new FhirDecimal(40);
        score.Part.Add(new Parameters.ParameterComponent { Name = "scale", Value = new FhirString("0-100") });

        var problems = Problems("record-session", session);

        Assert.Equal(
        [
            "Parameters.parameter.where(name='functionalScore')",
            "Parameters.parameter.where(name='functionalScore').part.where(name='scale')",
            "Parameters.parameter.where(name='rangeOfMotion').part.where(name='degrees').value",
            "Parameters.parameter.where(name='rangeOfMotion').part.where(name='movement')",
        ], problems.Select(p => p.Expression).Order(StringComparer.Ordinal));
        Assert.Contains(("Parameters.parameter.where(name='functionalScore').part.where(name='scale')", "'functionalScore' takes 'instrument', 'score'; not 'scale'."), problems);
    }

    [Fact]
    public void A_value_that_is_only_an_extension_is_no_value()
    {
        var call = With(("sessions", new Integer { Extension = [new Extension("http://example.org/fhir/StructureDefinition/why", new FhirString("unknown"))] }),
            ("validUntil", new Date("2027-03-01")));

        var problem = Assert.Single(Problems("approve-renewal", call));

        Assert.Equal("Parameters.parameter.where(name='sessions').value", problem.Expression);
        Assert.StartsWith("'sessions' has no value", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_operation_that_takes_nothing_refuses_any_parameter_and_one_with_a_resource_wants_it_as_a_resource()
    {
        Assert.Equal([("Parameters.parameter.where(name='reason')", "$resume takes no parameters; not 'reason'.")], Problems("resume", ReferralScenario.Reason("Back.")));

        var problem = Assert.Single(Problems("validate", With(("resource", new FhirString("a referral"))), resource: "ServiceRequest"));
        Assert.Equal("Parameters.parameter.where(name='resource').value", problem.Expression);
        Assert.Contains("a ServiceRequest", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_recorded_session_with_a_mistyped_and_an_unknown_parameter_is_a_400_naming_both_and_the_task_is_unchanged()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var session = ReferralScenario.Session(scenario.Time.GetUtcNow().AddHours(-2));
        session.Parameter.Single(p => p.Name == "painBefore").Value = new FhirDecimal(6.5m);
        session.Add("therapistMood", new FhirString("good"));

        using var response = await scenario.RecordSessionAsync(id, session);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var outcome = new FhirJsonDeserializer().Deserialize<OperationOutcome>(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(
            ["Parameters.parameter.where(name='painBefore').value", "Parameters.parameter.where(name='therapistMood')"],
            outcome.Issue.Select(i => i.Expression.Single()).Order(StringComparer.Ordinal));
        Assert.All(outcome.Issue, i => Assert.Equal(ValidationRules.Profile, i.Details!.Coding.Single().Code));
        using var therapist = scenario.AsTherapist();
        var task = new FhirJsonDeserializer().Deserialize<FhirTask>(await (await therapist.GetAsync(new Uri($"/api/fhir/Task/{id}", UriKind.Relative), Ct)).Content.ReadAsStringAsync(Ct));
        Assert.Empty(task.Output);
    }
}
