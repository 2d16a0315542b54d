using Hl7.Fhir.Model;

namespace SandboxEhr.Fhir;

/// <summary>The server's CapabilityStatement, with SMART's oauth-uris security extension (for clients that look there).</summary>
public static class CapabilityStatementDocument
{
    private const string OAuthUris = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

    public static CapabilityStatement Create(SandboxEndpoints urls) => new()
    {
        Status = PublicationStatus.Active,
        Date = "2026-01-01",
        Kind = CapabilityStatementKind.Instance,
        Software = new CapabilityStatement.SoftwareComponent { Name = "Sandbox EHR (development only)" },
        Implementation = new CapabilityStatement.ImplementationComponent { Description = "Sandbox EHR for the medical-massage referral app", Url = urls.Fhir },
        FhirVersion = FHIRVersion.N4_0_1,
        Format = ["json"],
        Rest =
        [
            new CapabilityStatement.RestComponent
            {
                Mode = CapabilityStatement.RestfulCapabilityMode.Server,
                Security = new CapabilityStatement.SecurityComponent
                {
                    Service = [new CodeableConcept { Coding = [new Coding("http://terminology.hl7.org/CodeSystem/restful-security-service", "SMART-on-FHIR", "SMART-on-FHIR")] }],
                    Description = "OAuth 2.0 with SMART App Launch 2.2; see .well-known/smart-configuration.",
                    Extension =
                    [
                        new Extension
                        {
                            Url = OAuthUris,
                            Extension =
                            [
                                new Extension("authorize", new FhirUri(urls.Authorize)),
                                new Extension("token", new FhirUri(urls.Token)),
                                new Extension("register", new FhirUri(urls.Register)),
                            ],
                        },
                    ],
                },
                Resource = [.. FhirSearch.Parameters.Select(p => Resource(p.Key, p.Value))],
            },
        ],
    };

    private static CapabilityStatement.ResourceComponent Resource(string type, IReadOnlyList<string> parameters)
    {
        var interactions = new List<CapabilityStatement.TypeRestfulInteraction>
        {
            CapabilityStatement.TypeRestfulInteraction.Read,
            CapabilityStatement.TypeRestfulInteraction.SearchType,
        };
        if (FhirEndpoints.CreatableTypes.Contains(type))
        {
            interactions.Add(CapabilityStatement.TypeRestfulInteraction.Create);
        }

        return new CapabilityStatement.ResourceComponent
        {
            Type = type,
            Interaction = [.. interactions.Select(i => new CapabilityStatement.ResourceInteractionComponent { Code = i })],
            ConditionalCreate = FhirEndpoints.CreatableTypes.Contains(type) ? true : null,
            SearchParam =
            [
                .. parameters.Select(p => new CapabilityStatement.SearchParamComponent
                {
                    Name = p,
                    Type = p switch
                    {
                        "patient" or "subject" or "beneficiary" or "encounter" or "based-on" or "owner" or "focus" or "practitioner" => SearchParamType.Reference,
                        _ => SearchParamType.Token,
                    },
                }),
            ],
        };
    }
}
