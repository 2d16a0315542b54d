using System.Text.RegularExpressions;
using Hl7.Fhir.Model;

namespace Referral.Functions.Fhir;

/// <summary>
/// Free text that reaches a therapist's or physician's screen must be plain text. Output is encoded anyway;
/// refusing markup at the door as well means no stored note can ever carry a script to a page that forgets.
/// </summary>
public static partial class PlainText
{
    /// <summary>'&lt;' followed by a letter, '/', '!' or '?': the start of a tag, comment or processing instruction. "pain &lt; 3" is fine.</summary>
    [GeneratedRegex(@"<\s*[A-Za-z/!?]", RegexOptions.CultureInvariant)]
    private static partial Regex Markup();

    public static bool LooksLikeMarkup(string? text) => text is not null && Markup().IsMatch(text);

    /// <summary>The FHIRPath of every free-text element of a referral that holds markup.</summary>
    public static IEnumerable<string> MarkupIn(ServiceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Text is not null)
        {
            yield return "ServiceRequest.text";
        }

        for (var i = 0; i < request.Note.Count; i++)
        {
            if (LooksLikeMarkup(request.Note[i].Text))
            {
                yield return $"ServiceRequest.note[{i}].text";
            }
        }

        if (LooksLikeMarkup(request.PatientInstruction))
        {
            yield return "ServiceRequest.patientInstruction";
        }

        foreach (var (concepts, name) in new[] { (request.ReasonCode, "reasonCode"), (request.BodySite, "bodySite"), (request.Code is null ? [] : [request.Code], "code") })
        {
            for (var i = 0; i < concepts.Count; i++)
            {
                if (LooksLikeMarkup(concepts[i].Text))
                {
                    yield return name == "code" ? "ServiceRequest.code.text" : $"ServiceRequest.{name}[{i}].text";
                }
            }
        }
    }
}
