using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Referrals;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Referrals;

namespace Referral.Tests.CdsHooks;

/// <summary>
/// The diagnosis a CDS card's link hands the app (appContext, through the EHR's token response) is a hint checked
/// against the launched patient's record: preselected when the active problem list holds it, ignored when it does not.
/// </summary>
public sealed class AppContextDiagnosisTests
{
    private static readonly PatientRecord TwoProblems = new()
    {
        Patient = new Patient { Id = "p" },
        Conditions =
        [
            Problem("I89.0", "Lymphedema of left arm"),
            Problem("M54.31", "Sciatica, right side"),
        ],
    };

    [Fact]
    public void The_appContext_diagnosis_on_the_problem_list_is_the_one_preselected()
    {
        var input = ReferralForm.Initial(TwoProblems, ReferralAppContext.TryParse(new ReferralAppContext("M54.31").Serialize())!.Diagnosis);

        Assert.Equal(["M54.31"], input.Diagnoses);
        Assert.Equal(input.Diagnoses, input.SuggestionsApplied);
    }

    [Fact]
    public void An_appContext_diagnosis_the_record_does_not_hold_is_ignored()
    {
        var withForeign = ReferralForm.Initial(TwoProblems, "G56.01");
        var without = ReferralForm.Initial(TwoProblems);

        Assert.Empty(withForeign.Diagnoses);
        Assert.Equal(without.Diagnoses, withForeign.Diagnoses);
    }

    [Fact]
    public void Another_code_of_the_same_condition_picks_the_records_own_code()
    {
        var input = ReferralForm.Initial(TwoProblems, "M54.30");

        Assert.Equal(["M54.31"], input.Diagnoses);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{\"diagnosis\":42}")]
    [InlineData("{\"other\":\"I89.0\"}")]
    [InlineData("{\"diagnosis\":\"I89.0I89.0I89.0I89.0\"}")]
    public void An_appContext_that_is_not_the_apps_reads_as_none(string appContext)
    {
        Assert.Null(ReferralAppContext.TryParse(appContext));
    }

    private static Condition Problem(string code, string text) => new()
    {
        Id = "p-" + code,
        Code = new CodeableConcept { Coding = [new Coding(Canonicals.Icd10Cm, code)], Text = text },
    };
}
