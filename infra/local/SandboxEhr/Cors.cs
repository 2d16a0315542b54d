namespace SandboxEhr;

/// <summary>
/// Browser-based SMART apps (public clients) call discovery, the token endpoint and FHIR from their own origin.
/// The policy allows any origin without credentials, so it never exposes the EHR's cookie-protected pages.
/// </summary>
public static class Cors
{
    public const string Public = "public";
}
