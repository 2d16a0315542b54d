using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Sessions;
using Referral.Model.Tasks;
using Referral.Model.Terminology;
using R = Referral.Model.Fhir.ValidationRules;
using S = Referral.Model.Tasks.ReferralTaskState;
using Task = Hl7.Fhir.Model.Task;

namespace Referral.Tests.Model;

public sealed class SessionRecorderTests
{
    /// <summary>The 5th of March, 10:00 in New York: within the validity, after the session ended.</summary>
    private static readonly DateTimeOffset SessionStart = new(2025, 3, 5, 10, 0, 0, TimeSpan.FromHours(-5));

    private static readonly TimeProvider AfterTheSession = new FixedTime(SessionStart.AddHours(2));

    private static readonly SessionRecorder Recorder = new(AfterTheSession);

    private static SessionRecord Session() => new()
    {
        Start = SessionStart,
        Minutes = 45,
        BodyAreasTreated = [new BodyArea(BodyRegion.Wrist, Laterality.Right), new BodyArea(BodyRegion.Hand, Laterality.Right)],
        Techniques = [MassageTechnique.MyofascialRelease, MassageTechnique.CrossFiberFriction],
        PainBefore = 6,
        PainAfter = 3,
        RangeOfMotion = [new RangeOfMotionMeasurement(new BodyArea(BodyRegion.Wrist, Laterality.Right), JointMovement.Extension, 55)],
        FunctionalScore = new FunctionalScore(FunctionalInstrument.QuickDash, 40.9m),
        Note = "Tingling eased after the session.",
    };

    private static ServiceRequest StoredReferral()
    {
        var request = ModelFixtures.Referral();
        request.Id = "sr-1";
        return request;
    }

    private static Task AcceptedTask() => TaskStateMachineTests.TaskIn(S.Accepted);

    [Fact]
    public void A_session_becomes_a_Procedure_based_on_the_referral()
    {
        var result = Recorder.Record(StoredReferral(), AcceptedTask(), Session());

        Assert.True(result.Succeeded, FhirJson.Serialize(result.Outcome));
        var procedure = result.Procedure!;
        Assert.Equal(EventStatus.Completed, procedure.Status);
        Assert.Equal("ServiceRequest/sr-1", Assert.Single(procedure.BasedOn).Reference);
        Assert.Equal("Patient/p1", procedure.Subject.Reference);
        Assert.Equal("97124", procedure.Code?.Coding[0].Code);
        var performed = Assert.IsType<Period>(procedure.Performed);
        Assert.Equal(("2025-03-05T10:00:00-05:00", "2025-03-05T10:45:00-05:00"), (performed.Start, performed.End));
        Assert.Equal(["Right wrist joint", "Right hand"], procedure.BodySite.Select(b => b.Text));
        Assert.Equal(ModelFixtures.Therapist, Assert.Single(procedure.Performer).Actor.Reference);
        Assert.Equal("Tingling eased after the session.", Assert.Single(procedure.Note).Text);
        Assert.Equal("G56.01", Assert.Single(procedure.ReasonCode).Coding[0].Code);
    }

    [Fact]
    public void The_techniques_are_the_procedure_method_extension()
    {
        var procedure = Recorder.Record(StoredReferral(), AcceptedTask(), Session()).Procedure!;

        var methods = procedure.GetExtensions("http://hl7.org/fhir/StructureDefinition/procedure-method")
            .Select(e => Assert.IsType<CodeableConcept>(e.Value).Coding[0])
            .Select(c => (c.System, c.Code));
        Assert.Equal([(Canonicals.MassageTechniqueSystem, "myofascial-release"), (Canonicals.MassageTechniqueSystem, "cross-fiber-friction")], methods);
    }

    [Fact]
    public void Pain_before_and_after_are_LOINC_72514_3_surveys_at_the_start_and_end()
    {
        var observations = Recorder.Record(StoredReferral(), AcceptedTask(), Session()).Observations;

        var pain = observations.Where(o => o.Code.Coding[0].Code == "72514-3").ToList();
        Assert.Equal(2, pain.Count);
        Assert.Equal(
            [("2025-03-05T10:00:00-05:00", 6m), ("2025-03-05T10:45:00-05:00", 3m)],
            pain.Select(o => (((FhirDateTime)o.Effective!).Value, ((Quantity)o.Value!).Value!.Value)));
        Assert.All(pain, o =>
        {
            Assert.Equal("survey", o.Category[0].Coding[0].Code);
            Assert.Equal((Canonicals.Ucum, "{score}"), (((Quantity)o.Value!).System, ((Quantity)o.Value!).Code));
            Assert.Equal(Canonicals.Loinc, o.Code.Coding[0].System);
        });
    }

    [Fact]
    public void Range_of_motion_is_a_therapy_observation_in_degrees_on_its_joint()
    {
        var observations = Recorder.Record(StoredReferral(), AcceptedTask(), Session()).Observations;

        var rom = Assert.Single(observations, o => o.Category[0].Coding[0].Code == "therapy");
        Assert.Equal((Canonicals.OutcomeMeasureSystem, "rom-extension"), (rom.Code.Coding[0].System, rom.Code.Coding[0].Code));
        var value = Assert.IsType<Quantity>(rom.Value);
        Assert.Equal((55m, Canonicals.Ucum, "deg"), (value.Value, value.System, value.Code));
        Assert.True(BodyRegions.TryRead(rom.BodySite, out var joint));
        Assert.Equal(new BodyArea(BodyRegion.Wrist, Laterality.Right), joint);
    }

    [Fact]
    public void A_functional_score_is_a_survey_observation_in_the_local_code_system()
    {
        var observations = Recorder.Record(StoredReferral(), AcceptedTask(), Session()).Observations;

        var score = Assert.Single(observations, o => o.Code.Coding[0].Code == "quickdash-score");
        Assert.Equal(Canonicals.OutcomeMeasureSystem, score.Code.Coding[0].System);
        Assert.Equal(40.9m, ((Quantity)score.Value!).Value);
        Assert.Equal("survey", score.Category[0].Coding[0].Code);
    }

    [Fact]
    public void Every_observation_is_based_on_the_referral_and_part_of_the_procedure()
    {
        var result = Recorder.Record(StoredReferral(), AcceptedTask(), Session());

        Assert.Equal(4, result.Observations.Count);
        Assert.All(result.Observations, o =>
        {
            Assert.Equal(ObservationStatus.Final, o.Status);
            Assert.Equal("ServiceRequest/sr-1", Assert.Single(o.BasedOn).Reference);
            Assert.Equal("Procedure/" + result.Procedure!.Id, Assert.Single(o.PartOf).Reference);
            Assert.Equal("Patient/p1", o.Subject?.Reference);
            Assert.Equal(ModelFixtures.Therapist, Assert.Single(o.Performer).Reference);
        });
        var ids = result.Observations.Select(o => o.Id).Append(result.Procedure!.Id).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void The_Task_moves_to_session_completed_and_lists_every_new_result()
    {
        var task = AcceptedTask();

        var result = Recorder.Record(StoredReferral(), task, Session());

        Assert.Equal(S.SessionCompleted, ReferralTaskStates.StateOf(result.Task!));
        Assert.Equal(S.Accepted, ReferralTaskStates.StateOf(task));
        Assert.Equal(
            [$"Procedure/{result.Procedure!.Id}", .. result.Observations.Select(o => $"Observation/{o.Id}")],
            result.Task!.Output.Select(o => ((ResourceReference)o.Value!).Reference));
        Assert.Equal(1, ReferralTasks.SessionsRecorded(result.Task));
        Assert.Equal((1, 7), (result.SessionNumber, result.RemainingSessions));
    }

    [Fact]
    public void The_Procedure_and_Observations_serialize_parse_back_strictly_and_match()
    {
        var result = Recorder.Record(StoredReferral(), AcceptedTask(), Session());

        foreach (var resource in new Resource[] { result.Procedure!, result.Task! }.Concat(result.Observations))
        {
            var json = FhirJson.Serialize(resource);

            Assert.True(FhirJson.TryParse(json, out var parsed, out var outcome), FhirJson.Serialize(outcome));
            Assert.True(PocoEqualityComparisons.IsExactly(resource, parsed!), json);
        }
    }

    [Fact]
    public void A_session_without_optional_measures_has_only_the_pain_observations()
    {
        var result = Recorder.Record(StoredReferral(), AcceptedTask(), Session() with { RangeOfMotion = [], FunctionalScore = null, Note = null });

        Assert.Equal(2, result.Observations.Count);
        Assert.Empty(result.Procedure!.Note);
    }

    public static TheoryData<S> UnderTreatment() => [S.Accepted, S.Scheduled, S.NoShow, S.SessionCompleted];

    public static TheoryData<S> NotUnderTreatment() => [S.Created, S.Declined, S.Cancelled, S.Completed];

    [Theory]
    [MemberData(nameof(UnderTreatment))]
    public void A_session_is_recorded_once_the_referral_is_accepted(S state)
    {
        Assert.True(Recorder.Record(StoredReferral(), TaskStateMachineTests.TaskIn(state), Session()).Succeeded);
    }

    [Theory]
    [MemberData(nameof(NotUnderTreatment))]
    public void A_session_on_a_Task_not_accepted_is_refused_at_Task_status(S state)
    {
        var result = Recorder.Record(StoredReferral(), TaskStateMachineTests.TaskIn(state), Session());

        Assert.Equal(ModelFixtures.Expect((R.SessionTaskNotAccepted, "Task.status")), ModelFixtures.Problems(result.Outcome));
        Assert.Null(result.Procedure);
        Assert.Empty(result.Observations);
        Assert.Null(result.Task);
    }

    private static readonly Dictionary<string, (Func<SessionRecord, SessionRecord> Change, (string Rule, string Expression)[] Expected)> SessionCases = new()
    {
        ["the day before the referral was written"] = (s => s with { Start = new DateTimeOffset(2025, 2, 28, 10, 0, 0, TimeSpan.Zero) }, [(R.SessionBeforeReferral, "SessionRecord.start")]),
        ["a minute before the referral was written"] = (s => s with { Start = new DateTimeOffset(2025, 3, 1, 8, 59, 0, TimeSpan.Zero) }, [(R.SessionBeforeReferral, "SessionRecord.start")]),
        ["in the minute the referral was written"] = (s => s with { Start = new DateTimeOffset(2025, 3, 1, 9, 0, 0, TimeSpan.Zero) }, []),
        ["on the first valid day, sent in another offset"] = (s => s with { Start = new DateTimeOffset(2025, 3, 1, 12, 30, 0, TimeSpan.FromHours(2)) }, []),
        ["ending in the future"] = (s => s with { Start = SessionStart.AddHours(1.5) }, [(R.SessionInFuture, "SessionRecord.start")]),
        ["zero minutes"] = (s => s with { Minutes = 0 }, [(R.SessionMinutesRange, "SessionRecord.minutes")]),
        ["181 minutes"] = (s => s with { Minutes = 181, Start = SessionStart.AddHours(-2) }, [(R.SessionMinutesRange, "SessionRecord.minutes")]),
        ["no body site"] = (s => s with { BodyAreasTreated = [] }, [(R.SessionBodySiteMissing, "SessionRecord.bodyAreasTreated")]),
        ["the other wrist"] = (s => s with { BodyAreasTreated = [new BodyArea(BodyRegion.Hand, Laterality.Right), new BodyArea(BodyRegion.Wrist, Laterality.Left)] },
            [(R.SessionBodySiteNotPrescribed, "SessionRecord.bodyAreasTreated[1]")]),
        ["the neck, never prescribed"] = (s => s with { BodyAreasTreated = [new BodyArea(BodyRegion.Neck)] },
            [(R.SessionBodySiteNotPrescribed, "SessionRecord.bodyAreasTreated[0]")]),
        ["a prescribed site without its side"] = (s => s with { BodyAreasTreated = [new BodyArea(BodyRegion.Wrist)] },
            [(R.SessionBodySiteNotPrescribed, "SessionRecord.bodyAreasTreated[0]")]),
        ["only part of the prescribed sites"] = (s => s with { BodyAreasTreated = [new BodyArea(BodyRegion.Hand, Laterality.Right)] }, []),
        ["no technique"] = (s => s with { Techniques = [] }, [(R.SessionTechniqueMissing, "SessionRecord.techniques")]),
        ["pain before below 0"] = (s => s with { PainBefore = -1 }, [(R.SessionPainRange, "SessionRecord.painBefore")]),
        ["pain after above 10"] = (s => s with { PainAfter = 11 }, [(R.SessionPainRange, "SessionRecord.painAfter")]),
        ["pain at the ends of the scale"] = (s => s with { PainBefore = 10, PainAfter = 0 }, []),
        ["range of motion over 360 degrees"] = (s => s with { RangeOfMotion = [s.RangeOfMotion[0] with { Degrees = 400 }] },
            [(R.SessionRangeOfMotion, "SessionRecord.rangeOfMotion[0].degrees")]),
        ["range of motion on a joint without its side"] = (s => s with { RangeOfMotion = [s.RangeOfMotion[0] with { Joint = new BodyArea(BodyRegion.Wrist) }] },
            [(R.SessionRangeOfMotion, "SessionRecord.rangeOfMotion[0].joint")]),
        ["range of motion on a midline joint with a side"] = (s => s with { RangeOfMotion = [new RangeOfMotionMeasurement(new BodyArea(BodyRegion.Neck, Laterality.Left), JointMovement.Rotation, 70)] },
            [(R.SessionRangeOfMotion, "SessionRecord.rangeOfMotion[0].joint")]),
        ["QuickDASH over 100"] = (s => s with { FunctionalScore = new FunctionalScore(FunctionalInstrument.QuickDash, 101) },
            [(R.SessionFunctionalScoreRange, "SessionRecord.functionalScore.score")]),
        ["NDI over 50"] = (s => s with { FunctionalScore = new FunctionalScore(FunctionalInstrument.NeckDisabilityIndex, 51) },
            [(R.SessionFunctionalScoreRange, "SessionRecord.functionalScore.score")]),
        ["PSFS at 10"] = (s => s with { FunctionalScore = new FunctionalScore(FunctionalInstrument.PatientSpecificFunctionalScale, 10) }, []),
        ["PROMIS T-score below 20"] = (s => s with { FunctionalScore = new FunctionalScore(FunctionalInstrument.PromisPainInterference, 12) },
            [(R.SessionFunctionalScoreRange, "SessionRecord.functionalScore.score")]),
        ["several problems at once"] = (s => s with { PainBefore = 12, Techniques = [], BodyAreasTreated = [] },
            [(R.SessionPainRange, "SessionRecord.painBefore"), (R.SessionTechniqueMissing, "SessionRecord.techniques"),
             (R.SessionBodySiteMissing, "SessionRecord.bodyAreasTreated")]),
    };

    public static TheoryData<string> SessionCaseNames() => [.. SessionCases.Keys];

    [Theory]
    [MemberData(nameof(SessionCaseNames))]
    public void A_session_breaking_a_rule_is_refused_with_the_exact_rules_and_paths(string name)
    {
        var (change, expected) = SessionCases[name];

        var result = Recorder.Record(StoredReferral(), AcceptedTask(), change(Session()));

        Assert.Equal(ModelFixtures.Expect(expected), ModelFixtures.Problems(result.Outcome));
        Assert.Equal(expected.Length == 0, result.Succeeded);
    }

    [Fact]
    public void A_session_after_the_validity_is_refused()
    {
        var later = new SessionRecorder(new FixedTime(new DateTimeOffset(2025, 5, 10, 12, 0, 0, TimeSpan.Zero)));

        var result = later.Record(StoredReferral(), AcceptedTask(), Session() with { Start = new DateTimeOffset(2025, 5, 1, 10, 0, 0, TimeSpan.Zero) });

        Assert.Equal(ModelFixtures.Expect((R.SessionAfterValidity, "SessionRecord.start")), ModelFixtures.Problems(result.Outcome));
    }

    [Fact]
    public void A_session_on_the_last_valid_day_is_recorded()
    {
        var later = new SessionRecorder(new FixedTime(new DateTimeOffset(2025, 5, 1, 12, 0, 0, TimeSpan.Zero)));

        var result = later.Record(StoredReferral(), AcceptedTask(), Session() with { Start = new DateTimeOffset(2025, 4, 30, 22, 0, 0, TimeSpan.Zero) });

        Assert.True(result.Succeeded, FhirJson.Serialize(result.Outcome));
    }

    [Fact]
    public void A_session_is_dated_in_the_prescribing_practices_zone_not_in_the_offset_it_was_sent_in()
    {
        // Prescribed in Los Angeles until April 30th: 18:00 there on the 30th is May 1st in UTC, and still valid.
        var request = ModelFixtures.ReferralIn("America/Los_Angeles");
        request.Id = "sr-1";
        var later = new SessionRecorder(new FixedTime(new DateTimeOffset(2025, 5, 2, 12, 0, 0, TimeSpan.Zero)));

        var onTheLastDay = later.Record(request, AcceptedTask(), Session() with { Start = new DateTimeOffset(2025, 5, 1, 1, 0, 0, TimeSpan.Zero) });
        var theDayAfter = later.Record(request, AcceptedTask(), Session() with { Start = new DateTimeOffset(2025, 5, 1, 9, 0, 0, TimeSpan.FromHours(2)) });

        Assert.True(onTheLastDay.Succeeded, FhirJson.Serialize(onTheLastDay.Outcome));
        Assert.Equal(ModelFixtures.Expect((R.SessionAfterValidity, "SessionRecord.start")), ModelFixtures.Problems(theDayAfter.Outcome));
        Assert.Contains("2025-05-01 (America/Los_Angeles)", theDayAfter.Outcome.Issue[0].Details?.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_session_after_the_referral_but_before_its_validity_starts_is_refused()
    {
        var request = new ReferralBuilder(ModelFixtures.Time).Build(ModelFixtures.Draft() with { ValidFrom = new DateOnly(2025, 3, 5) });
        request.Id = "sr-1";

        var result = Recorder.Record(request, AcceptedTask(), Session() with { Start = new DateTimeOffset(2025, 3, 4, 10, 0, 0, TimeSpan.Zero) });

        Assert.Equal(ModelFixtures.Expect((R.SessionBeforeValidity, "SessionRecord.start")), ModelFixtures.Problems(result.Outcome));
    }

    [Fact]
    public void A_prescription_for_both_wrists_covers_a_session_on_either()
    {
        var request = StoredReferral();
        request.BodySite[0] = BodyRegions.ToCodeableConcept(new BodyArea(BodyRegion.Wrist, Laterality.Both));

        var result = Recorder.Record(request, AcceptedTask(), Session() with { BodyAreasTreated = [new BodyArea(BodyRegion.Wrist, Laterality.Left)] });

        Assert.True(result.Succeeded, FhirJson.Serialize(result.Outcome));
    }

    [Fact]
    public void No_session_past_the_prescribed_count()
    {
        var request = StoredReferral();
        var task = AcceptedTask();
        var recorder = new SessionRecorder(new FixedTime(new DateTimeOffset(2025, 4, 1, 12, 0, 0, TimeSpan.Zero)));
        var results = new List<SessionResult>();
        for (var day = 0; day < 9; day++)
        {
            var result = recorder.Record(request, task, Session() with { Start = new DateTimeOffset(2025, 3, 3 + (day * 3), 10, 0, 0, TimeSpan.Zero) });
            results.Add(result);
            task = result.Task ?? task;
        }

        Assert.All(results.Take(8), r => Assert.True(r.Succeeded, FhirJson.Serialize(r.Outcome)));
        Assert.Equal(Enumerable.Range(1, 8), results.Take(8).Select(r => r.SessionNumber));
        Assert.Equal(0, results[7].RemainingSessions);
        Assert.Equal(ModelFixtures.Expect((R.SessionCountExceeded, "ServiceRequest.occurrence.repeat.count")), ModelFixtures.Problems(results[8].Outcome));
        Assert.Equal(8, ReferralTasks.SessionsRecorded(task));
    }

    [Fact]
    public void A_Task_for_another_referral_is_refused_at_Task_focus()
    {
        var task = AcceptedTask();
        task.Focus = new ResourceReference("ServiceRequest/sr-2");

        var result = Recorder.Record(StoredReferral(), task, Session());

        Assert.Equal(ModelFixtures.Expect((R.SessionTaskFocus, "Task.focus")), ModelFixtures.Problems(result.Outcome));
    }

    [Fact]
    public void A_referral_without_a_timing_cannot_take_sessions()
    {
        var request = StoredReferral();
        request.Occurrence = null;

        var result = Recorder.Record(request, AcceptedTask(), Session());

        Assert.Equal(ModelFixtures.Expect((R.SessionPrescriptionUnreadable, "ServiceRequest.occurrence")), ModelFixtures.Problems(result.Outcome));
    }

    [Fact]
    public void Sessions_need_a_stored_referral()
    {
        Assert.Throws<ArgumentException>(() => Recorder.Record(ModelFixtures.Referral(), AcceptedTask(), Session()));
    }
}
