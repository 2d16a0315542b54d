using System.Globalization;
using System.Text.Json;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;
using MimeKit;
using Referral.Functions.Referrals;
using Referral.Functions.Security;
using Referral.Functions.Therapists;
using Referral.Functions.Triggers;
using Referral.Functions.WriteBack;
using Referral.Model.Fhir;
using Referral.Model.Tasks;

namespace Referral.Functions.Notifications;

/// <summary>
/// The queue-triggered function <c>referral-notify</c> (queue <c>referral-notifications</c>): tells the therapist of a
/// new referral, reminds them of one left unanswered, tells the physician when it stays unanswered, and warns both
/// before a prescription expires; tells the physician when the therapist declines (with the reason), completes the
/// course (with the discharge outcome and recommendations) or asks for a renewal (with the reason and sessions asked).
/// Messages carry no patient identity (email is not a place for it): they say what happened and link to the referral,
/// and the only clinical words in them are the therapist's own answer to the physician. Each kind is sent once per
/// referral (each renewal request once), so a redelivered message sends nothing.
/// </summary>
public static partial class NotificationFunction
{
    public const string Name = "referral-notify";
    public const string Binding = "message";

    public const string TherapistReminder = "therapist-reminder";
    public const string PhysicianUnanswered = "physician-unanswered";
    public const string PrescriptionExpiring = "prescription-expiring";

    /// <summary>How long an event may wait for its referral's transaction before it counts as one that never stored.</summary>
    private static readonly TimeSpan NotYetStoredFor = TimeSpan.FromMinutes(10);

    public static IEndpointRouteBuilder MapNotifications(this IEndpointRouteBuilder app)
    {
        app.MapTrigger(Name, HandleAsync);
        return app;
    }

    public sealed record Services(
        ReferralStore Store,
        TherapistDirectory Directory,
        INotificationSender Sender,
        EhrRegistry Ehrs,
        EhrWriteBackRequests WriteBack,
        IOptions<NotificationOptions> Options,
        IOptions<SmartAppOptions> SmartApp,
        TimeProvider Time,
        ILogger<ReferralNotifications> Logger);

    /// <summary>The work-row property that records a kind of message as sent (or, with "Queued", as queued by the timer).</summary>
    public static string Flag(string prefix, string kind) =>
        prefix + string.Concat(kind.Split('-').Select(part => char.ToUpperInvariant(part[0]) + part[1..]));

    private static async Task<IResult> HandleAsync(HttpContext http, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var invocation = await TriggerEndpoints.ReadInvocationAsync(http.Request, cancellationToken);
        ReferralEvent? message = null;
        try
        {
            message = invocation?.MessageText(Binding) is { } text ? JsonSerializer.Deserialize<ReferralEvent>(text) : null;
        }
        catch (JsonException)
        {
        }

        if (message?.Referral is null || message.Kind is not (ReferralEvent.Submitted or TherapistReminder or PhysicianUnanswered or PrescriptionExpiring
                or ReferralEvent.Completed or ReferralEvent.Declined or ReferralEvent.RenewalRequested)
            || (message.Kind == ReferralEvent.RenewalRequested && message.Ordinal is not > 0))
        {
            return InvocationResponse.Failed("The message is not a referral event.", StatusCodes.Status400BadRequest);
        }

        var referral = await services.Store.GetAsync(message.Referral, cancellationToken);
        if (referral is null)
        {
            // Submit queues the event while its transaction runs: a young message may simply have come first.
            return invocation!.InsertionTime() is { } inserted && services.Time.GetUtcNow() - inserted < NotYetStoredFor
                ? InvocationResponse.Failed("The referral is not stored yet; the message will be retried.", StatusCodes.Status503ServiceUnavailable)
                : InvocationResponse.Ok("The referral is not stored; nothing to tell.");
        }

        // A change's event is queued while the change is written: wait for its version, and tell nothing when the Task
        // moved past it without the change (the write lost a race and the caller was told so).
        if (message.Version is { } version && referral.Version < version)
        {
            return invocation!.InsertionTime() is { } queuedAt && services.Time.GetUtcNow() - queuedAt < NotYetStoredFor
                ? InvocationResponse.Failed("The change is not stored yet; the message will be retried.", StatusCodes.Status503ServiceUnavailable)
                : InvocationResponse.Ok("The change was never stored; nothing to tell.");
        }

        if (!Happened(message, referral.Task))
        {
            return InvocationResponse.Ok("The Task does not hold this change; nothing to tell.");
        }

        var sent = Flag("Sent", message.Kind) + (message.Ordinal?.ToString(CultureInfo.InvariantCulture) ?? "");
        var work = await services.Store.WorkAsync(referral.Id, cancellationToken);
        if (work.Has(sent))
        {
            return InvocationResponse.Ok("Already sent.");
        }

        if (message.Kind == ReferralEvent.Submitted && services.Ehrs.WritesServiceRequest(referral.Ehr) && !work.Has(EhrWriteBackFunction.ServiceRequestWritten))
        {
            await services.WriteBack.EnqueueAsync(new EhrWriteBackMessage(EhrWriteBackMessage.ServiceRequestKind, referral.Id), cancellationToken);
        }

        var therapist = await services.Directory.FindAsync(referral.Owner, cancellationToken);
        var messages = Compose(message, referral, therapist, services).ToList();
        if (messages.Count == 0)
        {
            LogNoAddress(services.Logger, message.Kind, referral.Id);
        }

        foreach (var mail in messages)
        {
            await services.Sender.SendAsync(mail, cancellationToken);
        }

        await services.Store.MarkWorkAsync(referral.Id, sent, services.Time.GetUtcNow(), cancellationToken);
        LogSent(services.Logger, message.Kind, referral.Id, messages.Count);
        return InvocationResponse.Ok($"Sent {messages.Count} message(s).");
    }

    /// <summary>Whether the stored Task holds the change the event tells of (events of no change always hold).</summary>
    private static bool Happened(ReferralEvent message, Hl7.Fhir.Model.Task task) => message.Kind switch
    {
        ReferralEvent.Completed => ReferralTaskStates.StateOf(task) == ReferralTaskState.Completed,
        ReferralEvent.Declined => ReferralTaskStates.StateOf(task) == ReferralTaskState.Declined,
        ReferralEvent.RenewalRequested => ReferralTasks.RenewalRequestsOf(task).Count >= message.Ordinal,
        _ => true,
    };

    private static IEnumerable<MimeMessage> Compose(ReferralEvent message, StoredReferral referral, PractitionerRole? therapist, Services services)
    {
        var kind = message.Kind;
        var link = $"{services.SmartApp.Value.BaseUrl.TrimEnd('/')}/inbox/referrals/{Uri.EscapeDataString(referral.Id)}";
        var therapistEmail = therapist?.Telecom.FirstOrDefault(t => t.System == ContactPoint.ContactPointSystem.Email)?.Value;
        var therapistName = therapist?.Practitioner?.Display ?? referral.Task.Owner?.Display ?? "the therapist";
        var physicianEmail = PhysicianEmail(referral, services.Options.Value);
        // Dates as the practice counts them: in the time zone the referral's validity is in.
        var validity = (referral.Request.Occurrence as Timing)?.Repeat?.Bounds as Period;
        var zone = PracticeTime.ZoneOf(validity);
        var written = FhirTime.TryDateTime(referral.Request.AuthoredOn, out var authored) ? FhirTime.Date(PracticeTime.DateIn(authored, zone)) : "recently";
        var validUntil = FhirTime.TryDate(validity?.End, out var end) ? $"{FhirTime.Date(end)} ({zone.Id} time)" : "soon";
        var prescribed = (referral.Request.Occurrence as Timing)?.Repeat?.Count ?? 0;
        var recorded = ReferralTasks.SessionsRecorded(referral.Task);

        switch (kind)
        {
            case ReferralEvent.Submitted when therapistEmail is not null:
                yield return Message(services, kind, referral, therapistEmail, "New medical-massage referral",
                    $"A physician has sent you a medical-massage referral ({prescribed} sessions).\n\nOpen it to accept or decline:\n{link}\n");
                break;
            case TherapistReminder when therapistEmail is not null:
                yield return Message(services, kind, referral, therapistEmail, "Reminder: a referral is waiting for your answer",
                    $"A medical-massage referral sent to you on {written} has not been accepted or declined yet.\n\nOpen it:\n{link}\n");
                break;
            case PhysicianUnanswered when physicianEmail is not null:
                yield return Message(services, kind, referral, physicianEmail, "Your medical-massage referral has not been answered",
                    $"Your medical-massage referral {referral.Id} of {written} to {therapistName} has not been accepted or declined yet, " +
                    "and the therapist has been reminded. You may wish to choose another therapist: open the patient's chart and launch the referral app.\n");
                break;
            case PrescriptionExpiring:
                var text = $"The medical-massage prescription {referral.Id} is valid until {validUntil}; {recorded} of {prescribed} sessions are recorded.\n";
                if (therapistEmail is not null)
                {
                    yield return Message(services, kind, referral, therapistEmail, "A medical-massage prescription expires soon",
                        $"{text}\nSessions after that day cannot be recorded against it. Open the referral:\n{link}\n");
                }

                if (physicianEmail is not null)
                {
                    yield return Message(services, kind + "-physician", referral, physicianEmail, "A medical-massage prescription expires soon",
                        $"{text}\nIf treatment should go on, a renewed prescription is needed.\n");
                }

                break;
            case ReferralEvent.Declined when physicianEmail is not null:
                yield return Message(services, kind, referral, physicianEmail, "Your medical-massage referral was declined",
                    $"Your medical-massage referral {referral.Id} of {written} was declined by {therapistName}.\n\n" +
                    $"Reason given: {referral.Task.StatusReason?.Text ?? "none"}\n\n" +
                    $"You may wish to choose another therapist: {OpenTheApp}\n");
                break;
            case ReferralEvent.Completed when physicianEmail is not null:
                var summary = ReferralTasks.DischargeSummaryOf(referral.Task);
                var closing = summary is null
                    ? $"The course was closed without a discharge summary. Reason given: {referral.Task.StatusReason?.Text ?? "none"}\n"
                    : $"Outcome:\n{summary.Outcome}\n\nRecommendations:\n{summary.Recommendations ?? "none given"}\n";
                yield return Message(services, kind, referral, physicianEmail, "Medical-massage course completed",
                    $"{therapistName} has completed the medical-massage course of your referral {referral.Id} of {written}: " +
                    $"{recorded} of {prescribed} sessions recorded.\n\n{closing}\nThe progress chart and the session results: {OpenTheApp}\n");
                break;
            case ReferralEvent.RenewalRequested when physicianEmail is not null:
                var renewal = ReferralTasks.RenewalRequestsOf(referral.Task)[message.Ordinal!.Value - 1];
                var asked = renewal.AdditionalSessions is { } more ? string.Create(CultureInfo.InvariantCulture, $"{more} more sessions") : "no number of sessions given";
                yield return Message(services, kind, referral, physicianEmail,
                    "A therapist asks you to renew a medical-massage prescription",
                    $"{therapistName} asks you to renew the medical-massage prescription {referral.Id} of {written} " +
                    $"({recorded} of {prescribed} sessions recorded; valid until {validUntil}).\n\n" +
                    $"Reason given: {renewal.Reason}\nAsked for: {asked}\n\n" +
                    $"A renewal is a new referral: {OpenTheApp}\n", occurrence: message.Ordinal);
                break;
        }
    }

    private const string OpenTheApp = "open the patient's chart and launch the referral app.";

    private static string? PhysicianEmail(StoredReferral referral, NotificationOptions options)
    {
        var requester = referral.Request.Requester?.Reference is { } reference ? FhirReference.Key(reference) : null;
        return options.Physicians.FirstOrDefault(p => requester is not null && FhirReference.Key(p.Reference) == requester)?.Email
            ?? (string.IsNullOrWhiteSpace(options.PhysicianFallback) ? null : options.PhysicianFallback);
    }

    private static MimeMessage Message(Services services, string kind, StoredReferral referral, string to, string subject, string body, int? occurrence = null)
    {
        var message = new MimeMessage
        {
            // One id per referral and kind (and renewal request): a mail client (and the pickup folder) sees a resend as the same message.
            MessageId = $"{kind}{(occurrence is { } n ? "-" + n.ToString(CultureInfo.InvariantCulture) : "")}.{referral.Id}@{new Uri(services.SmartApp.Value.BaseUrl).Host}",
            Subject = subject,
            Date = services.Time.GetUtcNow(),
            Body = new TextPart("plain") { Text = body },
        };
        message.From.Add(MailboxAddress.Parse(services.Options.Value.From));
        message.To.Add(MailboxAddress.Parse(to));
        message.Headers.Add("X-Referral-Event", kind.ToString(CultureInfo.InvariantCulture));
        return message;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Notification {Kind} for referral {Referral}: {Count} message(s) sent.")]
    private static partial void LogSent(ILogger logger, string kind, string referral, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification {Kind} for referral {Referral}: no address to send it to.")]
    private static partial void LogNoAddress(ILogger logger, string kind, string referral);
}
