using Hl7.Fhir.Model;
using Microsoft.Extensions.Time.Testing;
using Referral.Model.Referrals;
using Referral.SmartApp.Referrals;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.SmartApp;

/// <summary>
/// Which of the physician's open referrals (as the functions API returns them) the review page warns about: built by
/// the shared builder from the scenario's draft (carpal tunnel, right wrist, valid 90 days in UTC).
/// </summary>
public sealed class OpenReferralsTests
{
    private static readonly DateTimeOffset Now = TestClock.Now;

    [Fact]
    public void An_open_referral_for_another_code_of_the_same_condition_is_a_duplicate_and_one_for_another_condition_is_not()
    {
        var carpalTunnel = Request("sr-1");
        var neck = Request("sr-2", diagnosis: "M54.2");

        var found = OpenReferrals.Matching([carpalTunnel, neck], Form("G56.02"), Now);

        var duplicate = Assert.Single(found);
        Assert.Equal("sr-1", duplicate.Id);
        Assert.Equal("Carpal tunnel syndrome", duplicate.Diagnosis);
        Assert.Equal("Sam Lee, LMT", duplicate.Therapist);
        Assert.Equal(DateOnly.FromDateTime(Now.UtcDateTime), duplicate.Sent);
        Assert.StartsWith("Send it anyway: this patient already has an open referral from you for Carpal tunnel syndrome (to Sam Lee, LMT).", OpenReferrals.Refusal(found), StringComparison.Ordinal);
    }

    [Fact]
    public void The_forms_own_earlier_attempt_an_expired_referral_and_a_closed_one_are_not_duplicates()
    {
        var form = Form("G56.01");
        var ownAttempt = Request("sr-own", placerId: form.PlacerId);
        var expired = Request("sr-expired", validFrom: TestClock.Today.AddDays(-120));
        var revoked = Request("sr-revoked");
        revoked.Status = RequestStatus.Revoked;

        Assert.Empty(OpenReferrals.Matching([ownAttempt, expired, revoked], form, Now));
        // The expired one was open until its last day was over.
        Assert.Single(OpenReferrals.Matching([expired], form, Now.AddDays(-40)));
    }

    private static FormState Form(string diagnosis) => new()
    {
        PlacerId = Guid.NewGuid().ToString(),
        Input = new ReferralInput { Diagnoses = [diagnosis] },
    };

    private static ServiceRequest Request(string id, string diagnosis = "G56.01", string? placerId = null, DateOnly? validFrom = null)
    {
        var draft = ReferralScenario.DraftFactory.Draft(validFrom) with { Diagnoses = [new Diagnosis(diagnosis)] };
        var request = new ReferralBuilder(new FakeTimeProvider(Now)).Build(placerId is null ? draft : draft with { PlacerId = placerId });
        request.Id = id;
        return request;
    }
}
