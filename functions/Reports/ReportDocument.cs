using System.Security.Cryptography;
using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Reports;

namespace Referral.Functions.Reports;

/// <summary>
/// A report as the EHR files it (issue 19): a <c>DocumentReference</c>, status current, typed LOINC 11506-3 progress note
/// or 18842-5 discharge summary, category clinical note, for the patient, with both renditions attached (each with its
/// size and its SHA-1 hash, base64, as FHIR's Attachment.hash is) and the referral's ServiceRequest as its context.
/// </summary>
public static class ReportDocument
{
    /// <summary>Our key of each document (referral and occasion) as an identifier: the key of a conditional create.</summary>
    public const string IdentifierSystem = Canonicals.Base + "/sid/progress-report";

    /// <summary>US Core's DocumentReference category.</summary>
    public const string CategorySystem = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category";

    /// <summary>The key of the progress report after session <paramref name="number"/>.</summary>
    public static string SessionKey(int number) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{SessionPrefix}{number}");

    /// <summary>The key of the report at the <paramref name="ordinal"/>th renewal request.</summary>
    public static string RenewalKey(int ordinal) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{RenewalPrefix}{ordinal}");

    public const string DischargeKey = "discharge";

    private const string SessionPrefix = "session-";

    private const string RenewalPrefix = "renewal-";

    /// <summary>
    /// The occasion a document's key names (<see cref="SessionKey"/>, <see cref="RenewalKey"/>, <see cref="DischargeKey"/>),
    /// so that a report rendered later says what was true then; a key of another shape renders as things stand.
    /// </summary>
    public static ReportOccasion? OccasionOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.StartsWith(SessionPrefix, StringComparison.Ordinal)
            && int.TryParse(key.AsSpan(SessionPrefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return ReportOccasion.AfterSession(number);
        }

        return key == DischargeKey ? ReportOccasion.Discharge
            : key.StartsWith(RenewalPrefix, StringComparison.Ordinal) ? ReportOccasion.RenewalRequest
            : null;
    }

    public static DocumentReference Build(ProgressReport report, ServiceRequest request, ResourceReference serviceRequest, string key, IReadOnlyList<ReportRendition> renditions)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(renditions);
        return new DocumentReference
        {
            Identifier = [new Identifier(IdentifierSystem, $"{report.ReferralId}/{key}")],
            Status = DocumentReferenceStatus.Current,
            Type = report.DocumentType.ToCodeableConcept(),
            Category = [new CodeableConcept(CategorySystem, "clinical-note", "Clinical Note")],
            Subject = (ResourceReference?)request.Subject?.DeepCopy(),
            Date = report.Issued,
            // The therapist is in our directory, not the EHR's: named, not referenced.
            Author = [new ResourceReference { Display = report.Therapist.Name }],
            Description = report.Title,
            Content = [.. renditions.Select(r => new DocumentReference.ContentComponent { Attachment = Attachment(report, r) })],
            Context = new DocumentReference.ContextComponent { Related = [serviceRequest] },
        };
    }

    public static Attachment Attachment(ProgressReport report, ReportRendition rendition)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(rendition);
        return new Attachment
        {
            ContentType = rendition.ContentType,
            Language = "en",
            Data = rendition.Content,
            Size = rendition.Content.Length,
#pragma warning disable CA5350 // Why: SHA-1 is what FHIR R4 defines Attachment.hash to be; it identifies the content, it secures nothing.
            Hash = SHA1.HashData(rendition.Content),
#pragma warning restore CA5350
            Title = report.Title + (rendition.ContentType == ReportRendition.PdfType ? " (PDF)" : " (XHTML)"),
            CreationElement = new FhirDateTime(report.Issued),
        };
    }
}
