namespace Referral.Functions.CdsHooks;

/// <summary>The CDS Hooks service (<c>CdsHooks</c>): where it is reached, where its cards launch the app, and which EHRs may call it.</summary>
public sealed class CdsHooksOptions
{
    public const string Section = "CdsHooks";

    /// <summary>
    /// The service's public base URL as the EHRs call it (the API's address, no trailing slash). A service's URL, which
    /// an EHR's JWT must carry in <c>aud</c>, is <c>{BaseUrl}/cds-services/{id}</c>: taken from here, never from the
    /// request's Host header, which a caller chooses.
    /// </summary>
    public string BaseUrl { get; set; } = "";

    /// <summary>The smart-app's launch URL, the card's SMART link (the EHR adds <c>iss</c> and <c>launch</c>).</summary>
    public string AppLaunchUrl { get; set; } = "";

    /// <summary>
    /// How long the service waits for the EHR's FHIR server when the EHR sent no prefetch: past it the answer is no
    /// card, well inside an EHR's hook budget (a few seconds), never an error the physician sees.
    /// </summary>
    public TimeSpan FhirTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Issuers' keys (JWKS) only over HTTPS; off for the loopback sandbox of the local run and tests.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>The EHRs allowed to call (the CDS Hooks allow-list): an issuer not here gets 401 and no card.</summary>
    public List<CdsClient> Clients { get; } = [];
}

/// <summary>One EHR registered as a CDS client of this service.</summary>
public sealed class CdsClient
{
    /// <summary>The <c>iss</c> of the EHR's JWTs, exactly as it signs it.</summary>
    public string Issuer { get; set; } = "";

    /// <summary>Where the EHR publishes the keys it signs with (CDS Hooks: configured out of band, never taken from the token's <c>jku</c>).</summary>
    public string JwksUrl { get; set; } = "";

    /// <summary>
    /// The EHR's FHIR base. A call naming another <c>fhirServer</c> gets no card: the service sends the EHR's access
    /// token only here, and looks up open referrals by this base (the launches' <c>iss</c>, which referrals are stored under).
    /// </summary>
    public string FhirServer { get; set; } = "";

    /// <summary>
    /// The longest <c>exp - iat</c> accepted from this EHR: five minutes by default (SMART's figure for signed
    /// assertions); Epic's published example JWT lives fifteen, so an Epic registration may need <c>00:15:00</c>.
    /// </summary>
    public TimeSpan MaxTokenLifetime { get; set; } = TimeSpan.FromMinutes(5);
}
