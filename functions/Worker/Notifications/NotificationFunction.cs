using System.Globalization;
using System.Text.Json;
using Azure.Storage.Queues.Models;
using Hl7.Fhir.Model;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using MimeKit;
using Referral.Functions.Referrals;
using Referral.Functions.Reports;
using Referral.Functions.Security;
using Referral.Functions.Storage;
using Referral.Functions.Telemetry;
using Referral.Functions.Therapists;
using Referral.Functions.WriteBack;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Tasks;
using Referral.Worker.Triggers;

namespace Referral.Worker.Notifications;

/// <summary>
/// The queue-triggered function <c>referral-notify</c> (queue <c>referral-notifications</c>): tells the therapist of a
/// new referral, reminds them of one left unanswered, tells the physician when it stays unanswered, and warns both
/// before a prescription expires; tells the physician when the therapist declines (with the reason), completes the
/// course, asks for a renewal or puts a new referral on hold; tells the therapist when the physician answers a renewal. Messages carry no patient
/// data (email is not a place for it, DESIGN.md §6): they say what happened, to which referral (named by the other
/// party's name and the day it was written, with its id as the reference), on which day, and link to the page behind
/// sign-in that shows it; the people's own words (reasons, discharge outcome, the renewal's answer) stay there. Each kind is sent once per referral (each renewal
/// request once): each message is claimed in storage before it is sent, so a redelivered message, or two deliveries
/// at once, send it once.
/// </summary>
public sealed partial class NotificationFunction(NotificationFunction.Services services)
{
    public const string Name = "referral-notify";

    public const string TherapistReminder = "therapist-reminder";
    public const string PhysicianUnanswered = "physician-unanswered";
    public const string PrescriptionExpiring = "prescription-expiring";

    /// <summary>How long an event may wait for its referral's transaction before it counts as one that never stored.</summary>
    private static readonly TimeSpan NotYetStoredFor = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long a claimed message is left to the delivery that claimed it. Longer than a send takes (MailKit's
    /// timeout is 2 minutes), shorter than the queue's visibility timeout, so a dead sender's redelivery takes it over.
    /// </summary>
    public static readonly TimeSpan SendLease = TimeSpan.FromMinutes(5);

    [Function(Name)]
    public Task RunAsync(
        [QueueTrigger(ReferralNotifications.QueueName, Connection = StorageAccount.SettingName)] QueueMessage message,
        CancellationToken cancellationToken) =>
        FunctionRun.ProcessAsync(Name, message, services.Logger, () => HandleAsync(message, services, cancellationToken));

    public sealed record Services(
        ReferralStore Store,
        TherapistDirectory Directory,
        INotificationSender Sender,
        EhrRegistry Ehrs,
        EhrWriteBackRequests WriteBack,
        QueueBackoff Backoff,
        IOptions<NotificationOptions> Options,
        IOptions<SmartAppOptions> SmartApp,
        TimeProvider Time,
        ILogger<ReferralNotifications> Logger);

    /// <summary>
    /// An event that came before its write is looked at again with the queue's backoff (a copy due in 1, 2, 4, 8
    /// minutes), not by failing: the host's own retries (5 within about two minutes) would move it to the poison queue
    /// long before <see cref="NotYetStoredFor"/>, and every write that lost a race or failed would leave one there. Null
    /// once the event has waited that long: its write never landed.
    /// </summary>
    private static async Task<string?> WaitForWriteAsync(QueueMessage invocation, ReferralEvent message, Services services, string why, CancellationToken cancellationToken)
    {
        var attempt = message.Attempt ?? 1;
        // A copy has waited its backoff; the first message, its time on the queue.
        var now = services.Time.GetUtcNow();
        var waited = attempt > 1 ? QueueBackoff.Waited(attempt) : now - (invocation.InsertedOn ?? now);
        if (waited >= NotYetStoredFor)
        {
            return null;
        }

        return await services.Backoff.RetryLaterAsync(ReferralNotifications.QueueName, message, cancellationToken) is { } later
            ? $"{why}; looked at again in {later}."
            : null;
    }

    /// <summary>The work-row property that records a kind of message as sent (or, with "Queued", as queued by the timer).</summary>
    public static string Flag(string prefix, string kind) =>
        prefix + string.Concat(kind.Split('-').Select(part => char.ToUpperInvariant(part[0]) + part[1..]));

    private static async Task<string> HandleAsync(QueueMessage invocation, Services services, CancellationToken cancellationToken)
    {
        ReferralEvent? message = null;
        try
        {
            message = invocation.Body?.ToString() is { } text ? JsonSerializer.Deserialize<ReferralEvent>(text) : null;
        }
        catch (JsonException)
        {
        }

        if (message?.Referral is null || !message.IsReadable || message.Kind is not (ReferralEvent.Submitted or TherapistReminder or PhysicianUnanswered or PrescriptionExpiring
                or ReferralEvent.Completed or ReferralEvent.Declined or ReferralEvent.RenewalRequested or ReferralEvent.RenewalAnswered or ReferralEvent.MessagePosted
                or ReferralEvent.PutOnHold)
            || (message.Kind is ReferralEvent.RenewalRequested or ReferralEvent.RenewalAnswered or ReferralEvent.MessagePosted or ReferralEvent.PutOnHold && message.Ordinal is not > 0)
            || (message.Kind == ReferralEvent.MessagePosted && message.Recipient is not ("therapist" or "physician")))
        {
            throw new FunctionFailedException("The message is not a referral event this release reads.");
        }

        // Storage that cannot be reached now is waited out on the queue's backoff, as the EHR and the mail server are.
        return await services.Backoff.OutlastingStorageFaultsAsync(ReferralNotifications.QueueName, message,
            () => TellAsync(invocation, message, services, cancellationToken), cancellationToken);
    }

    /// <summary>What a readable event asks for: waiting for its write, or telling the people it concerns, each message once.</summary>
    private static async Task<string> TellAsync(QueueMessage invocation, ReferralEvent message, Services services, CancellationToken cancellationToken)
    {
        if (await services.Backoff.PutBackIfEarlyAsync(ReferralNotifications.QueueName, invocation.Body!.ToString(), message.NotBefore, cancellationToken))
        {
            return "Not due yet: put back until its time.";
        }

        var referral = await services.Store.GetAsync(message.Referral, cancellationToken);
        if (referral is null)
        {
            // Submit queues the event while its transaction runs: a young message may simply have come first.
            return await WaitForWriteAsync(invocation, message, services, "The referral is not stored yet", cancellationToken)
                ?? "The referral is not stored; nothing to tell.";
        }

        // A change's event is queued while the change is written: wait for its version, and tell nothing when the Task
        // never reached it (the write lost a race or failed, and the caller was told so) or passed it without the change.
        if (message.Version is { } version && referral.Version < version)
        {
            return await WaitForWriteAsync(invocation, message, services, "The change is not stored yet", cancellationToken)
                ?? "The change was never stored; nothing to tell.";
        }

        if (!Happened(message, referral.Task))
        {
            return "The Task does not hold this change; nothing to tell.";
        }

        var sent = Flag("Sent", message.Kind) + (message.Ordinal?.ToString(CultureInfo.InvariantCulture) ?? "");
        var work = await services.Store.WorkAsync(referral.Id, cancellationToken);
        if (work.Has(sent))
        {
            return "Already sent.";
        }

        if (message.Kind == ReferralEvent.Submitted && services.Ehrs.WritesServiceRequest(referral.Ehr) && !work.Has(EhrWriteBackWork.ServiceRequestWritten))
        {
            await services.WriteBack.EnqueueAsync(new EhrWriteBackMessage(EhrWriteBackMessage.ServiceRequestKind, referral.Id), cancellationToken);
        }

        // The chart's copy of the course at a renewal request and at discharge (issue 19), where the EHR files documents.
        if (message.Kind is ReferralEvent.Completed or ReferralEvent.RenewalRequested && services.Ehrs.Find(referral.Ehr) is { WritesDocuments: true })
        {
            var document = message.Kind == ReferralEvent.Completed ? ReportDocument.DischargeKey : ReportDocument.RenewalKey(message.Ordinal ?? referral.Version);
            await services.WriteBack.EnqueueAsync(new EhrWriteBackMessage(EhrWriteBackMessage.DocumentKind, referral.Id) { Document = document }, cancellationToken);
        }

        var therapist = await services.Directory.FindAsync(referral.Owner, cancellationToken);
        var messages = Compose(message, referral, therapist, services).ToList();
        if (messages.Count == 0)
        {
            LogNoAddress(services.Logger, message.Kind, referral.Id);
        }

        // Each message is claimed in storage before it is sent (an insert: of two deliveries at once one wins), and
        // marked sent after; a failed send gives its claim up, so the retry sends it.
        var (sentHere, elsewhere) = (0, 0);
        foreach (var mail in messages)
        {
            var messageId = mail.MessageId ?? throw new InvalidOperationException("Every notification has its Message-Id.");
            var claim = await services.Store.ClaimSendAsync(referral.Id, messageId, services.Time.GetUtcNow(), SendLease, cancellationToken);
            if (claim != SendClaim.Won)
            {
                elsewhere += claim == SendClaim.Sending ? 1 : 0;
                continue;
            }

            try
            {
                await services.Sender.SendAsync(mail, cancellationToken);
            }
            catch (Exception e)
            {
                await services.Store.ReleaseSendAsync(referral.Id, messageId, CancellationToken.None);
                if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
                {
                    throw;
                }

                // A mail server that is down is retried with backoff for hours (the messages already sent are marked, and
                // not sent again); past the horizon the failure is thrown for the host's retries and the poison queue.
                if (await services.Backoff.RetryLaterAsync(ReferralNotifications.QueueName, message, cancellationToken) is { } delay)
                {
                    return $"Sending failed ({e.GetType().Name}); attempt {(message.Attempt ?? 1) + 1} is queued for {delay} from now.";
                }

                throw;
            }

            await services.Store.MarkSentAsync(referral.Id, messageId, services.Time.GetUtcNow(), cancellationToken);
            sentHere++;
        }

        if (elsewhere > 0)
        {
            // Another delivery of this event is sending now: it marks the event done; should it die, its own
            // redelivery finds the claim older than the lease and sends.
            return $"Sent {sentHere} message(s); {elsewhere} being sent by another delivery.";
        }

        await services.Store.MarkWorkAsync(referral.Id, sent, services.Time.GetUtcNow(), cancellationToken);
        LogSent(services.Logger, message.Kind, referral.Id, sentHere);
        ReferralMetrics.NotificationsSent.Add(sentHere, new KeyValuePair<string, object?>("kind", message.Kind));
        return $"Sent {sentHere} message(s).";
    }

    /// <summary>Whether the stored Task holds the change the event tells of (events of no change always hold).</summary>
    private static bool Happened(ReferralEvent message, Hl7.Fhir.Model.Task task) => message.Kind switch
    {
        ReferralEvent.Completed => ReferralTaskStates.StateOf(task) == ReferralTaskState.Completed,
        ReferralEvent.Declined => ReferralTaskStates.StateOf(task) == ReferralTaskState.Declined,
        ReferralEvent.RenewalRequested => ReferralTasks.RenewalRequestsOf(task).Count >= message.Ordinal,
        ReferralEvent.RenewalAnswered => RenewalAnswers.AnswersOf(task).Count >= message.Ordinal,
        ReferralEvent.PutOnHold => ReferralTasks.HoldsOf(task).Count(h => h.Kind == HoldEvent.Held) >= message.Ordinal,
        _ => true,
    };

    /// <summary>
    /// The messages of one event. Each says only that something happened (its kind, the referral named by the other
    /// party and the day it was written, its id, the day) and links to where it is shown behind sign-in: the therapist's
    /// inbox page of the referral, or for the physician the app's launch from their EHR (the status page lives in a
    /// launch). No free text (discharge outcome, reasons, the renewal's answer), no patient, no diagnosis, no body site:
    /// email is not a place for them.
    /// </summary>
    private static IEnumerable<MimeMessage> Compose(ReferralEvent message, StoredReferral referral, PractitionerRole? therapist, Services services)
    {
        var kind = message.Kind;
        var baseUrl = services.SmartApp.Value.BaseUrl.TrimEnd('/');
        var inbox = $"{baseUrl}/inbox/referrals/{Uri.EscapeDataString(referral.Id)}";
        var launch = $"{baseUrl}/launch?iss={Uri.EscapeDataString(referral.Ehr)}";
        var therapistEmail = therapist?.Telecom.FirstOrDefault(t => t.System == ContactPoint.ContactPointSystem.Email)?.Value;
        var physicianEmail = PhysicianEmail(referral, services.Options.Value);
        // Days as the practice counts them: in the time zone the referral's validity is in.
        var summary = ReferralSummary.Of(referral.Request, referral.Task);
        var zone = summary.Zone;
        var today = $"{FhirTime.Date(summary.TodayAt(services.Time.GetUtcNow()))} ({zone.Id} time)";
        var written = summary.Written is { } authored ? FhirTime.Date(PracticeTime.DateIn(authored, zone)) : "recently";
        var validUntil = summary.ValidUntil is { } end ? $"{FhirTime.Date(end)} ({zone.Id} time)" : "soon";
        // The referral named as a referral desk finds it: by the other party's name and the day it was written (people,
        // not patients: the therapist's name from the directory, the physician's as their EHR gave it), with its id
        // kept as the reference to quote.
        var physicianName = PersonName(referral.Request.Requester?.Display) ?? "your referring physician";
        var therapistName = PersonName(therapist?.Practitioner?.Display) ?? PersonName(referral.Request.Performer.FirstOrDefault()?.Display) ?? "the therapist";
        var toTherapist = $"Referral from {physicianName}, written on {written} (reference {referral.Id})";
        var toPhysician = $"Your referral to {therapistName}, written on {written} (reference {referral.Id})";
        var forTherapist = $"Sign in to see it:\n{inbox}\n";
        var forPhysician = $"Sign in to see it: open the patient's chart in your EHR and launch the referral app (Referrals and progress), or start it here:\n{launch}\n";

        // Each message: its news, then which referral it is about and where to sign in to see it.
        MimeMessage ToTherapist(string email, string subject, string news, int? occurrence = null) =>
            Message(services, kind, referral, email, subject, $"{news}\n{toTherapist}\n\n{forTherapist}", occurrence);
        MimeMessage ToPhysician(string email, string subject, string news, int? occurrence = null, string? messageKind = null) =>
            Message(services, messageKind ?? kind, referral, email, subject, $"{news}\n{toPhysician}\n\n{forPhysician}", occurrence);

        switch (kind)
        {
            case ReferralEvent.Submitted when therapistEmail is not null:
                yield return ToTherapist(therapistEmail, $"New medical-massage referral from {physicianName}",
                    $"You have a new medical-massage referral, sent on {today}.");
                break;
            case TherapistReminder when therapistEmail is not null:
                yield return ToTherapist(therapistEmail, $"Reminder: {physicianName}'s referral is waiting for your answer",
                    $"A medical-massage referral has not been accepted or declined yet ({today}).");
                break;
            case PhysicianUnanswered when physicianEmail is not null:
                yield return ToPhysician(physicianEmail, $"Your medical-massage referral to {therapistName} has not been answered",
                    $"Your medical-massage referral has not been accepted or declined yet, and the therapist has been reminded ({today}).");
                break;
            case PrescriptionExpiring:
                var expires = $"A medical-massage prescription expires on {validUntil}.";
                if (therapistEmail is not null)
                {
                    yield return ToTherapist(therapistEmail, $"{physicianName}'s medical-massage prescription expires soon", expires);
                }

                if (physicianEmail is not null)
                {
                    yield return ToPhysician(physicianEmail, $"Your medical-massage prescription to {therapistName} expires soon", expires, messageKind: kind + "-physician");
                }

                break;
            case ReferralEvent.Declined when physicianEmail is not null:
                yield return ToPhysician(physicianEmail, $"{therapistName} declined your medical-massage referral",
                    $"The therapist declined your medical-massage referral on {today}.");
                break;
            case ReferralEvent.Completed when physicianEmail is not null:
                yield return ToPhysician(physicianEmail, $"{therapistName} completed a medical-massage course",
                    $"The therapist completed the medical-massage course of your referral on {today}.");
                break;
            case ReferralEvent.RenewalRequested when physicianEmail is not null:
                yield return ToPhysician(physicianEmail, $"{therapistName} asks you to renew a medical-massage prescription",
                    $"The therapist asked on {today} for the medical-massage prescription to be renewed.", message.Ordinal);
                break;
            case ReferralEvent.PutOnHold when physicianEmail is not null:
                // What it waits for is the therapist's words about a patient: it stays behind sign-in.
                yield return ToPhysician(physicianEmail, $"{therapistName} put your medical-massage referral on hold",
                    $"The therapist put your medical-massage referral on hold on {today}, waiting for an answer before accepting it.", message.Ordinal);
                break;
            case ReferralEvent.MessagePosted when message.Recipient == "therapist" && therapistEmail is not null:
                // The message itself is someone's words about a patient: it stays behind sign-in.
                yield return ToTherapist(therapistEmail, $"{physicianName} wrote to you about a referral",
                    $"The physician wrote a message on a medical-massage referral on {today}.", message.Ordinal);
                break;
            case ReferralEvent.MessagePosted when message.Recipient == "physician" && physicianEmail is not null:
                yield return ToPhysician(physicianEmail, $"{therapistName} wrote to you about your referral",
                    $"The therapist wrote a message on your medical-massage referral on {today}.", message.Ordinal);
                break;
            case ReferralEvent.RenewalAnswered when therapistEmail is not null:
                // Approved or declined is the physician's decision about a patient's care: it stays behind sign-in too.
                yield return ToTherapist(therapistEmail, $"{physicianName} answered your renewal request",
                    $"The physician answered your request to renew a medical-massage prescription on {today}.", message.Ordinal);
                break;
        }
    }

    /// <summary>A person's name on one line (a display may hold line breaks, which must not shape the message); null when blank.</summary>
    private static string? PersonName(string? display) =>
        string.IsNullOrWhiteSpace(display) ? null : string.Join(' ', display.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

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
