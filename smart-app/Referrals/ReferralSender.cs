using System.Collections.Concurrent;
using System.Net;
using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Referrals;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Referrals;

public sealed record SendResult(string? ReferralId, OperationOutcome? Refused, string? EhrCopyProblem);

/// <summary>
/// "Sign and send": the ServiceRequest from the shared builder goes to the functions API with the app's signed
/// token, then (where the EHR takes writes and granted the scope) into the EHR too. One send at a time per form,
/// and the placer id of the form makes a double click or a retry the same order: the functions API answers a
/// repeat with the original, and the EHR write is a conditional create on that identifier.
/// </summary>
public sealed class ReferralSender(FunctionsApi functions, EhrClient ehr, EhrRegistry registry, ReferralBuilder builder, AppSession session, TimeProvider time)
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Sending = new(StringComparer.Ordinal);

    public async Task<SendResult> SendAsync(string sessionId, LaunchContext launch, PatientRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var gate = Sending.GetOrAdd(sessionId + "/" + launch.Id, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            var state = await session.GetAsync<FormState>(sessionId, FormState.Key(launch.Id), cancellationToken);
            if (state is null)
            {
                return new SendResult(null, null, null);
            }

            if (state.SentId is not null)
            {
                return new SendResult(state.SentId, null, state.EhrCopyProblem);
            }

            var therapists = await functions.TherapistsAsync(new PhysicianCaller(launch), cancellationToken);
            var draft = ReferralForm.Draft(state, launch, record, therapists, DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime));
            var request = builder.Build(draft);
            var (status, body) = await functions.SubmitAsync(new PhysicianCaller(launch), request, cancellationToken);
            if (status is not (HttpStatusCode.Created or HttpStatusCode.OK) || body is not ServiceRequest stored || stored.Id is null)
            {
                return new SendResult(null, body as OperationOutcome ?? Outcome(status), null);
            }

            var copyProblem = await CopyToEhrAsync(launch, request, state.PlacerId, cancellationToken);
            await session.SetAsync(sessionId, FormState.Key(launch.Id), state with { SentId = stored.Id, EhrCopyProblem = copyProblem },
                AppSession.IdleTimeout, cancellationToken, sliding: true);
            return new SendResult(stored.Id, null, copyProblem);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The EHR's copy, when it takes writes; its failure never un-sends the referral, it is only reported.</summary>
    private async Task<string?> CopyToEhrAsync(LaunchContext launch, ServiceRequest request, string placerId, CancellationToken cancellationToken)
    {
        if (registry.Find(launch.Iss) is not { AcceptsWrites: true } || !SmartScopes.Allows(launch.GrantedScope, "ServiceRequest", 'c'))
        {
            return null;
        }

        try
        {
            var (status, _) = await ehr.CreateAsync(launch, request, $"identifier={Canonicals.PlacerIdentifierSystem}|{placerId}", cancellationToken);
            return status is HttpStatusCode.Created or HttpStatusCode.OK ? null : $"The EHR did not take a copy of the referral (it answered {(int)status}).";
        }
        catch (EhrRequestException e)
        {
            return "The EHR did not take a copy of the referral: " + e.Message;
        }
    }

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
