using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Azure.Storage.Queues.Models;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.Azure.Functions.Worker;
using Referral.Functions.Audit;
using Referral.Functions.Referrals;
using Referral.Functions.Reports;
using Referral.Functions.Security;
using Referral.Functions.Storage;
using Referral.Functions.Telemetry;
using Referral.Functions.WriteBack;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Reports;
using Referral.Worker.Triggers;

namespace Referral.Worker.WriteBack;

/// <summary>
/// The queue-triggered function <c>ehr-writeback</c> (queue <c>ehr-writeback</c>): writes a referral's ServiceRequest
/// and its sessions' Observations into the EHR the referral came from, with a SMART Backend Services token. A failure
/// that may pass (the EHR unreachable, 5xx, 429, a timeout) is retried with backoff for hours (<see cref="QueueBackoff"/>);
/// a refusal, or a failure past the backoff's horizon, is thrown, so the host retries after host.json's visibility
/// timeout and, after the last try, moves the message to <c>ehr-writeback-poison</c>; the referral itself is never touched by a failure. What the EHR already
/// holds is noted per resource (and each create is conditional on our identifier), so a redelivery posts nothing twice.
/// The public keys the EHR checks our client assertions with are the API's <c>GET /api/backend/jwks.json</c>.
/// </summary>
public sealed partial class EhrWriteBackFunction(EhrWriteBackFunction.Services services)
{
    public const string Name = "ehr-writeback";

    // The work row's record of the EHR copy, which the API reads too (EhrWriteBackWork).
    private const string ServiceRequestWritten = EhrWriteBackWork.ServiceRequestWritten;
    private const string ServiceRequestProblem = EhrWriteBackWork.ServiceRequestProblem;
    private const string ServiceRequestAttempts = EhrWriteBackWork.ServiceRequestAttempts;
    private const string ServiceRequestGaveUp = EhrWriteBackWork.ServiceRequestGaveUp;
    private const string ObservationIdentifierSystem = EhrWriteBackWork.ObservationIdentifierSystem;

    private static readonly FhirXmlSerializer Xml = new();

    private static readonly FhirJsonDeserializer Lenient = new(new DeserializerSettings().UsingMode(DeserializationMode.Recoverable));

    [Function(Name)]
    public Task RunAsync(
        [QueueTrigger(EhrWriteBackRequests.QueueName, Connection = StorageAccount.SettingName)] QueueMessage message,
        CancellationToken cancellationToken) =>
        FunctionRun.ProcessAsync(Name, message, services.Logger, () => HandleAsync(message, services, cancellationToken));

    public sealed record Services(
        ReferralStore Store,
        EhrRegistry Ehrs,
        BackendServicesTokens Tokens,
        IHttpClientFactory HttpClients,
        AuditTrail Audit,
        WriteBackRetries Retries,
        QueueBackoff Backoff,
        ReportSource Reports,
        TimeProvider Time,
        ILogger<EhrWriteBackRequests> Logger);

    /// <summary>How long one create waits for the EHR, on the app's clock; past it the try counts as a failure that may pass (retried with backoff).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static async Task<string> HandleAsync(QueueMessage invocation, Services services, CancellationToken cancellationToken)
    {
        EhrWriteBackMessage? message = null;
        try
        {
            message = invocation.Body?.ToString() is { } text ? JsonSerializer.Deserialize<EhrWriteBackMessage>(text) : null;
        }
        catch (JsonException)
        {
        }

        if (message?.Referral is null || !message.IsReadable
            || message.Kind is not (EhrWriteBackMessage.ServiceRequestKind or EhrWriteBackMessage.SessionKind or EhrWriteBackMessage.DocumentKind))
        {
            // Left to fail into the poison queue, where an operator sees it, rather than dropped unseen.
            throw new FunctionFailedException("The message is not an EHR write-back request this release reads.");
        }

        // Storage that cannot be reached now is waited out on the queue's backoff, as the EHR and the mail server are.
        return await services.Backoff.OutlastingStorageFaultsAsync(EhrWriteBackRequests.QueueName, message,
            () => WriteAsync(invocation, message, services, cancellationToken), cancellationToken);
    }

    /// <summary>What a readable write-back request asks for: the referral's resources written into its EHR, each once.</summary>
    private static async Task<string> WriteAsync(QueueMessage invocation, EhrWriteBackMessage message, Services services, CancellationToken cancellationToken)
    {
        if (await services.Backoff.PutBackIfEarlyAsync(EhrWriteBackRequests.QueueName, invocation.Body!.ToString(), message.NotBefore, cancellationToken))
        {
            return "Not due yet: put back until its time.";
        }

        // The try of this message: its backoff attempt, plus the host's redeliveries of this copy.
        var attempt = message.Attempt ?? 1;
        var tries = attempt + (int)invocation.DequeueCount - 1;
        var referral = await services.Store.GetAsync(message.Referral, cancellationToken);
        var ehr = services.Ehrs.Find(referral?.Ehr);
        if (referral is null || ehr is not { WriteBack: true } && !(ehr is { WriteServiceRequest: true } && message.Kind == EhrWriteBackMessage.ServiceRequestKind))
        {
            return "Nothing to write: the referral is gone or its EHR takes no writes.";
        }

        try
        {
            string? serviceRequest = null;
            if (ehr.WriteServiceRequest)
            {
                try
                {
                    serviceRequest = await WriteServiceRequestAsync(services, ehr, referral, cancellationToken);
                }
                catch (Exception e) when (IsEhrFailure(e, cancellationToken))
                {
                    var last = !(MayPass(e) && services.Backoff.CanRetry(attempt)) && invocation.DequeueCount >= services.Retries.MaxDequeueCount;
                    await RecordRefusalAsync(services, referral, tries, last, e.Message, cancellationToken);
                    throw;
                }
            }

            var written = 0;
            if (message.Kind == EhrWriteBackMessage.SessionKind && message.Session is { } session && ehr.WritesObservations)
            {
                written = await WriteObservationsAsync(services, ehr, referral, session, serviceRequest, cancellationToken);
            }

            // The progress report after every Nth session, and the documents the notifications queue (renewal, discharge).
            var document = message.Kind == EhrWriteBackMessage.DocumentKind
                ? message.Document
                : message.Session is { } number && number % ehr.ReportEverySessions == 0 ? ReportDocument.SessionKey(number) : null;
            if (document is { Length: > 0 } && ehr.WritesDocuments)
            {
                await WriteDocumentAsync(services, ehr, referral, document, serviceRequest, cancellationToken);
            }

            LogWritten(services.Logger, message.Kind, referral.Id, written);
            ReferralMetrics.WriteBack(message.Kind, succeeded: true, tries, services.Retries.MaxDequeueCount);
            return $"Written to the EHR: {written} Observation(s).";
        }
        catch (Exception e) when (IsEhrFailure(e, cancellationToken))
        {
            LogFailed(services.Logger, message.Kind, referral.Id, e.Message);
            if (MayPass(e) && await services.Backoff.RetryLaterAsync(EhrWriteBackRequests.QueueName, message, cancellationToken) is { } delay)
            {
                ReferralMetrics.WriteBackRetried(message.Kind);
                return $"The EHR write failed ({e.Message}); attempt {attempt + 1} is queued for {delay} from now.";
            }

            ReferralMetrics.WriteBack(message.Kind, succeeded: false, (int)invocation.DequeueCount, services.Retries.MaxDequeueCount);
            throw new FunctionFailedException($"The EHR write failed: {e.Message}", e);
        }
    }

    private static bool IsEhrFailure(Exception e, CancellationToken cancellationToken) =>
        e is EhrWriteException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested;

    /// <summary>Whether an EHR failure may pass (unreachable, timed out, 5xx, 429): retried with backoff; a refusal is not.</summary>
    private static bool MayPass(Exception e) => e is HttpRequestException or TaskCanceledException || e is EhrWriteException { MayPass: true };

    /// <summary>
    /// What the physician's status page shows (the copy is not in the chart, and why), noted on the referral's work
    /// state; the last try of the message says the write-back has given up and the message goes to the poison queue.
    /// </summary>
    private static async Task RecordRefusalAsync(Services services, StoredReferral referral, int attempt, bool last, string reason, CancellationToken cancellationToken)
    {
        LogServiceRequestRefused(services.Logger, referral.Id, attempt, reason);
        await services.Store.MarkWorkAsync(referral.Id, ServiceRequestProblem, reason, cancellationToken);
        await services.Store.MarkWorkAsync(referral.Id, ServiceRequestAttempts, attempt, cancellationToken);
        await services.Store.MarkWorkAsync(referral.Id, ServiceRequestGaveUp, last, cancellationToken);
    }

    /// <summary>The EHR's id of the referral's ServiceRequest, creating it there the first time.</summary>
    private static async Task<string> WriteServiceRequestAsync(Services services, EhrRegistration ehr, StoredReferral referral, CancellationToken cancellationToken)
    {
        var work = await services.Store.WorkAsync(referral.Id, cancellationToken);
        if (work.Text(ServiceRequestWritten) is { Length: > 0 } known)
        {
            return known;
        }

        var copy = (ServiceRequest)referral.Request.DeepCopy();
        copy.Id = null;
        copy.Meta = null;
        // The therapist is in our directory, not the EHR's: named, not referenced.
        copy.Performer = [.. copy.Performer.Select(p => new ResourceReference { Display = p.Display ?? "Massage therapist" })];
        var placer = copy.Identifier.FirstOrDefault(i => i.System == Canonicals.PlacerIdentifierSystem);
        var id = await CreateAsync(services, ehr, copy, placer, cancellationToken);
        await services.Store.MarkWorkAsync(referral.Id, ServiceRequestWritten, id, cancellationToken);
        await AuditAsync(services, referral, $"ServiceRequest/{referral.Id}", cancellationToken);
        return id;
    }

    private static async Task<int> WriteObservationsAsync(
        Services services, EhrRegistration ehr, StoredReferral referral, int session, string? serviceRequest, CancellationToken cancellationToken)
    {
        var placer = referral.Request.Identifier.FirstOrDefault(i => i.System == Canonicals.PlacerIdentifierSystem);
        var written = 0;
        foreach (var stored in await services.Store.ObservationsAsync(referral.Id, session, cancellationToken))
        {
            if (stored.EhrId is { Length: > 0 })
            {
                continue;
            }

            var copy = (Observation)stored.Resource.DeepCopy();
            copy.Id = null;
            copy.Meta = null;
            var identifier = new Identifier(ObservationIdentifierSystem, stored.Resource.Id);
            copy.Identifier.Add(identifier);
            // References the EHR can resolve: its own ServiceRequest where it holds one, else the order's placer identifier.
            copy.BasedOn = [serviceRequest is not null
                ? new ResourceReference($"ServiceRequest/{serviceRequest}")
                : new ResourceReference { Type = "ServiceRequest", Identifier = (Identifier?)placer?.DeepCopy() }];
            // The session's Procedure stays with us (the registration grants no Procedure writes).
            copy.PartOf = [];
            copy.Performer = [.. copy.Performer.Select(p => new ResourceReference { Display = p.Display ?? "Massage therapist" })];
            var id = await CreateAsync(services, ehr, copy, identifier, cancellationToken);
            await services.Store.MarkWrittenBackAsync(referral.Owner, stored, id, cancellationToken);
            await AuditAsync(services, referral, $"Observation/{stored.Resource.Id}", cancellationToken);
            written++;
        }

        return written;
    }

    /// <summary>
    /// The progress report (or discharge summary) as a DocumentReference with both renditions; once per referral and
    /// <paramref name="key"/> (noted on the work row, and the create is conditional on the same key).
    /// </summary>
    private static async Task WriteDocumentAsync(
        Services services, EhrRegistration ehr, StoredReferral referral, string key, string? serviceRequest, CancellationToken cancellationToken)
    {
        var flag = DocumentWrittenPrefix + key.Replace('-', '_');
        if ((await services.Store.WorkAsync(referral.Id, cancellationToken)).Text(flag) is { Length: > 0 })
        {
            return;
        }

        // Rendered as of its occasion: a write-back that runs after the course moved on still reports session N as session N.
        var report = await services.Reports.BuildAsync(referral, ReportCopy.Chart, cancellationToken, ReportDocument.OccasionOf(key));
        var placer = referral.Request.Identifier.FirstOrDefault(i => i.System == Canonicals.PlacerIdentifierSystem);
        var related = serviceRequest is not null
            ? new ResourceReference($"ServiceRequest/{serviceRequest}")
            : new ResourceReference { Type = "ServiceRequest", Identifier = (Identifier?)placer?.DeepCopy() };
        var document = ReportDocument.Build(report, referral.Request, related, key, [ReportRenditions.Pdf(report), ReportRenditions.Xhtml(report)]);
        var id = await CreateAsync(services, ehr, document, document.Identifier[0], cancellationToken);
        await services.Store.MarkWorkAsync(referral.Id, flag, id.Length > 0 ? id : "written", cancellationToken);
        await AuditAsync(services, referral, $"DocumentReference/{referral.Id}/{key}", cancellationToken);
    }

    private const string DocumentWrittenPrefix = "EhrDocument_";

    /// <summary>
    /// POSTs a resource to the EHR as a conditional create (<c>If-None-Exist</c> on our identifier, for EHRs that
    /// honour it) and returns the id the EHR gave it.
    /// </summary>
    private static async Task<string> CreateAsync(Services services, EhrRegistration ehr, Resource resource, Identifier? identifier, CancellationToken cancellationToken)
    {
        // Defence in depth behind the API's check: nothing whose subject (or any reference) points elsewhere than this
        // EHR is written into its charts. Named by element only: the reference itself would put patient data in the log.
        if (LaunchReferences.Foreign(resource, ehr.Iss).Select(i => i.Expression.FirstOrDefault()).ToList() is { Count: > 0 } foreign)
        {
            throw new EhrWriteException($"Not written: {string.Join(", ", foreign)} of the {resource.TypeName} does not resolve to the EHR it would be written to.");
        }

        var token = await services.Tokens.AccessTokenAsync(ehr, cancellationToken);
        using var client = services.HttpClients.CreateClient(BackendServicesTokens.HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"{ehr.Iss.TrimEnd('/')}/{resource.TypeName}"))
        {
            Content = resource is DocumentReference
                // Firely 6.8's JSON writes R4's Attachment.size (unsignedInt) as a string, which an R4 server refuses;
                // its XML writes it as the value attribute FHIR defines, so documents go as XML.
                ? new StringContent(Xml.SerializeToString(resource), System.Text.Encoding.UTF8, "application/fhir+xml")
                : new StringContent(FhirJson.Serialize(resource), System.Text.Encoding.UTF8, "application/fhir+json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
        if (identifier is { System: not null, Value: not null })
        {
            request.Headers.TryAddWithoutValidation("If-None-Exist", $"identifier={identifier.System}|{identifier.Value}");
        }

        using var deadline = new Deadline(Timeout, services.Time, cancellationToken);
        using var response = await client.SendAsync(request, deadline.Token);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            services.Tokens.Forget(ehr);
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new EhrWriteException($"The EHR answered {(int)response.StatusCode} to a {resource.TypeName} create.", response.StatusCode);
        }

        if (response.Headers.Location is { } location)
        {
            return FhirReference.IdOf(location.ToString());
        }

        var body = await response.Content.ReadAsStringAsync(deadline.Token);
        try
        {
            return body.Length > 0 && Lenient.Deserialize<Resource>(body).Id is { } id ? id : "";
        }
        catch (DeserializationFailedException)
        {
            return "";
        }
    }

    private static Task AuditAsync(Services services, StoredReferral referral, string entity, CancellationToken cancellationToken) =>
        services.Audit.RecordAsync(new AuditEntry
        {
            Caller = Caller.System,
            Interaction = "create",
            Action = AuditEvent.AuditEventAction.C,
            Entity = entity,
            Patient = referral.Request.Subject?.Reference is { } subject ? FhirReference.Key(subject) : null,
            Success = true,
            SourceAddress = null,
        }, cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "EHR write-back {Kind} for referral {Referral}: {Count} Observation(s) written.")]
    private static partial void LogWritten(ILogger logger, string kind, string referral, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The EHR did not take the copy of referral {Referral}'s ServiceRequest (try {Attempt}): {Reason}")]
    private static partial void LogServiceRequestRefused(ILogger logger, string referral, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "EHR write-back {Kind} for referral {Referral} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string kind, string referral, string reason);
}
