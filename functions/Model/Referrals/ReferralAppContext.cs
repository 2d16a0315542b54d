using System.Text.Json;
using System.Text.Json.Serialization;

namespace Referral.Model.Referrals;

/// <summary>
/// What a CDS card's SMART link hands the app through the EHR (<c>appContext</c> in the token response): the
/// diagnosis to preselect, as an ICD-10-CM code. The app treats it as a hint: it preselects the diagnosis only when
/// the launched patient's active problem list holds it.
/// </summary>
public sealed record ReferralAppContext([property: JsonPropertyName("diagnosis")] string Diagnosis)
{
    /// <summary>Longer than any context this app writes; a bigger one is not read.</summary>
    public const int MaxLength = 512;

    public string Serialize() => JsonSerializer.Serialize(this);

    public static ReferralAppContext? TryParse(string? appContext)
    {
        if (string.IsNullOrWhiteSpace(appContext) || appContext.Length > MaxLength)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<ReferralAppContext>(appContext) is { Diagnosis.Length: > 0 and <= 16 } context ? context : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
