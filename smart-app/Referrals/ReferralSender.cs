using System.Net;
using Hl7.Fhir.Model;
using Referral.Model;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Referrals;

/// <summary>
/// How a send ended: the referral's id; or the API's refusal; or <see cref="Duplicate"/>, nothing sent because an open
/// referral of this physician for this patient and diagnosis exists (the physician must confirm a second one).
/// </summary>
public sealed record SendResult(string? ReferralId, OperationOutcome? Refused, bool Duplicate = false);

/// <summary>
/// "Sign and send": the ServiceRequest from the shared builder goes to the functions API with the app's signed
/// token. One send at a time per form, and the placer id of the form makes a double click or a retry the same order:
/// the functions API answers a repeat with the original. The app never writes the referral into the EHR itself: the
/// functions write-back is the one writer (queued, retried, poisoned where an operator sees it; functions'
/// <c>Ehrs:N:WriteServiceRequest</c>), and the status page shows how that copy went.
/// </summary>
public sealed class ReferralSender(FunctionsApi functions, FormChecks checks, AppSession session, TimeProvider time)
{
    private static readonly KeyedGate Sending = new();

    /// <summary>
    /// Sends the form's referral. Unless <paramref name="duplicateConfirmed"/>, as a conditional create
    /// (<see cref="OpenReferrals.Criteria"/>): an open referral for the same diagnosis stops it (<see cref="SendResult.Duplicate"/>).
    /// </summary>
    public async Task<SendResult> SendAsync(string sessionId, LaunchContext launch, PatientRecord record, bool duplicateConfirmed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        using (await Sending.EnterAsync(sessionId + "/" + launch.Id, cancellationToken))
        {
            var state = await session.GetAsync<FormState>(sessionId, FormState.Key(launch.Id), cancellationToken);
            if (state is null)
            {
                return new SendResult(null, null);
            }

            if (state.SentId is not null)
            {
                return new SendResult(state.SentId, null);
            }

            var therapists = await functions.TherapistsAsync(new PhysicianCaller(launch), cancellationToken);
            if (TherapistList.Refusal(therapists, state.Input, record) is { } refusal)
            {
                // The therapist stopped taking referrals (or the choice never was possible): nothing is sent.
                return new SendResult(null, Refusal(refusal, "ServiceRequest.performer"));
            }

            var request = checks.Build(state, launch, record, therapists);
            var (status, body) = await functions.SubmitAsync(new PhysicianCaller(launch), request,
                duplicateConfirmed ? null : OpenReferrals.Criteria(request, time.GetUtcNow()), cancellationToken);
            if (status == HttpStatusCode.PreconditionFailed
                || (status == HttpStatusCode.OK && body is ServiceRequest other
                    && !other.Identifier.Any(i => i.System == Canonicals.PlacerIdentifierSystem && i.Value == state.PlacerId)))
            {
                // Not this referral (a retry of it would carry its placer id): another open one for the diagnosis matched.
                return new SendResult(null, null, Duplicate: true);
            }

            if (status is not (HttpStatusCode.Created or HttpStatusCode.OK) || body is not ServiceRequest stored || stored.Id is null)
            {
                return new SendResult(null, body as OperationOutcome ?? Outcome(status));
            }

            await session.SetAsync(sessionId, FormState.Key(launch.Id), state with { SentId = stored.Id },
                AppSession.IdleTimeout, cancellationToken, sliding: true);
            return new SendResult(stored.Id, null);
        }
    }

    private static OperationOutcome Refusal(string message, string expression) => new()
    {
        Issue =
        [
            new OperationOutcome.IssueComponent
            {
                Severity = OperationOutcome.IssueSeverity.Error,
                Code = OperationOutcome.IssueType.BusinessRule,
                Details = new CodeableConcept { Text = message },
                Expression = [expression],
            },
        ],
    };

    private static OperationOutcome Outcome(HttpStatusCode status) => new()
    {
        Issue =
        [
            new OperationOutcome.IssueComponent
            {
                Severity = OperationOutcome.IssueSeverity.Error,
                Code = OperationOutcome.IssueType.Exception,
                Diagnostics = $"The referral service answered {(int)status}.",
            },
        ],
    };
}
