using Microsoft.Extensions.Options;
using Referral.Functions.Storage;

namespace Referral.Functions.WriteBack;

/// <summary>How this app is registered with one EHR for SMART Backend Services, and what that EHR lets it write.</summary>
public sealed class EhrRegistration
{
    /// <summary>The EHR's FHIR base, as its launches give it in <c>iss</c> (and a referral stores as its Ehr).</summary>
    public string Iss { get; set; } = "";

    /// <summary>The client id the EHR gave this app's backend-services registration.</summary>
    public string ClientId { get; set; } = "";

    /// <summary>Write the therapist's Observations back into the EHR.</summary>
    public bool WriteBack { get; set; }

    /// <summary>
    /// Create the sent referral's ServiceRequest in the EHR (the registration must grant <c>system/ServiceRequest.c</c>).
    /// This write-back is the referral's only writer into the EHR: the smart-app never creates it (it no longer reads
    /// its old <c>Ehrs:N:AcceptsWrites</c>), so an EHR that ignores <c>If-None-Exist</c> still gets one copy.
    /// </summary>
    public bool WriteServiceRequest { get; set; }

    /// <summary>
    /// What the write-back puts in this EHR's charts (issue 19): the sessions' Observations, the progress reports as
    /// DocumentReferences, or both (the default). Epic and Oracle Health take third-party Observations only for mapped
    /// codes but take clinical documents; the registration must grant <c>system/DocumentReference.c</c> for documents.
    /// </summary>
    public EhrWrites Writes { get; set; } = EhrWrites.Both;

    /// <summary>A progress report goes to the chart after every this many sessions (and on a renewal request, and at discharge).</summary>
    public int ReportEverySessions { get; set; } = 4;

    public bool WritesObservations => WriteBack && Writes is EhrWrites.Observations or EhrWrites.Both;

    public bool WritesDocuments => WriteBack && Writes is EhrWrites.Documents or EhrWrites.Both;
}

/// <summary>What the write-back writes into an EHR's charts.</summary>
public enum EhrWrites
{
    Both,
    Observations,
    Documents,
}

public sealed class EhrOptions
{
    public const string Section = "Ehrs";

    public List<EhrRegistration> Registrations { get; } = [];
}

/// <summary>The EHRs this app writes to, by FHIR base (<c>Ehrs</c>: a list of registrations).</summary>
public sealed class EhrRegistry(IOptions<EhrOptions> options)
{
    public EhrRegistration? Find(string? iss) => iss is null
        ? null
        : options.Value.Registrations.FirstOrDefault(r => string.Equals(r.Iss.TrimEnd('/'), iss.TrimEnd('/'), StringComparison.Ordinal));

    public bool WritesBack(string? iss) => Find(iss) is { WriteBack: true };

    public bool WritesServiceRequest(string? iss) => Find(iss) is { WriteServiceRequest: true };

    public IReadOnlyList<EhrRegistration> All => options.Value.Registrations;

    /// <summary>Binds the <c>Ehrs</c> list: each entry must name its FHIR base and client id.</summary>
    public static IServiceCollection AddEhrRegistry(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EhrOptions>()
            .Configure(o => configuration.GetSection(EhrOptions.Section).Bind(o.Registrations))
            .Validate(o => o.Registrations.All(r => Uri.TryCreate(r.Iss, UriKind.Absolute, out _)), "Each Ehrs entry needs Iss: the EHR's absolute FHIR base URL.")
            .Validate(o => o.Registrations.All(r => !string.IsNullOrWhiteSpace(r.ClientId)), "Each Ehrs entry needs ClientId: this app's backend-services client id at that EHR.")
            .Validate(o => o.Registrations.All(r => Enum.IsDefined(r.Writes)), "Each Ehrs entry's Writes is Observations, Documents or Both.")
            .Validate(o => o.Registrations.All(r => r.ReportEverySessions >= 1), "Each Ehrs entry's ReportEverySessions is 1 or more.")
            .ValidateOnStart();
        services.AddSingleton<EhrRegistry>();
        services.AddSingleton<EhrWriteBackRequests>();
        return services;
    }
}

/// <summary>What to write to an EHR: a referral's ServiceRequest, or one session's Observations.</summary>
public sealed record EhrWriteBackMessage(string Kind, string Referral, int? Session = null) : QueuedMessage
{
    public const string ServiceRequestKind = "service-request";
    public const string SessionKind = "session";

    /// <summary>A progress report or discharge summary as a DocumentReference; <see cref="Document"/> says which (its key).</summary>
    public const string DocumentKind = "document";

    /// <summary>For <see cref="DocumentKind"/>: "discharge", or "renewal-N" for the Nth renewal request.</summary>
    public string? Document { get; init; }
}

/// <summary>Puts EHR writes on their queue: a slow or failing EHR is retried there and never fails the user's request.</summary>
public sealed class EhrWriteBackRequests(StorageAccount storage)
{
    public const string QueueName = "ehr-writeback";

    public Task EnqueueAsync(EhrWriteBackMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return QueuedMessage.SendAsync(storage, QueueName, message, cancellationToken);
    }
}
