namespace SandboxEhr.Ehr;

/// <summary>The EHR's own sign-in: which physician is using the chart, and so who an EHR launch is made for.</summary>
public static class EhrSession
{
    public const string Scheme = "SandboxEhr";
    public const string PractitionerClaim = "practitioner";
}
