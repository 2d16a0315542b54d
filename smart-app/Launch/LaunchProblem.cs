namespace Referral.SmartApp.Launch;

public enum LaunchProblemKind
{
    UnknownEhr,
    EhrUnreachable,
    EhrSlow,
    EhrMisconfigured,
    AccessDenied,
    AuthorizationFailed,
    StateMismatch,
    StateReused,
    StateExpired,
    IssuerMismatch,
    TokenError,
    IdentityUnverified,
    NoPatient,
    SessionEnded,
    EhrSessionEnded,
}

/// <summary>A launch that could not finish, said for a physician: what happened and what to do now.</summary>
public sealed record LaunchProblem(LaunchProblemKind Kind, string Title, string Explanation, string WhatToDo, int StatusCode)
{
    /// <summary>Where the physician can start the app again (a new launch at the same EHR), when that is what to do.</summary>
    public string? RelaunchUrl { get; init; }

    /// <summary>The EHR ended the session (its FHIR API answered 401): a new launch at the same EHR gets new access.</summary>
    public static LaunchProblem EhrSessionEnded(string? ehrName, string iss) =>
        For(LaunchProblemKind.EhrSessionEnded, ehrName) with { RelaunchUrl = "/launch?iss=" + Uri.EscapeDataString(iss) };

    public static LaunchProblem For(LaunchProblemKind kind, string? ehrName = null)
    {
        var ehr = string.IsNullOrWhiteSpace(ehrName) ? "your EHR" : ehrName;
        return kind switch
        {
            LaunchProblemKind.UnknownEhr => new(kind, "This EHR is not set up for the app",
                "The app was opened from an EHR it has not been registered with, so it did not contact it.",
                "Open the app from your EHR's patient chart. If that is what you did, ask your EHR administrator to register the app.", 403),
            LaunchProblemKind.EhrUnreachable => new(kind, $"{ehr} could not be reached",
                $"The app could not get an answer from {ehr}.",
                "Try again in a moment. If it keeps happening, tell your EHR administrator.", 502),
            LaunchProblemKind.EhrSlow => new(kind, $"{ehr} is answering too slowly",
                $"{ehr} did not answer in time, so the app stopped waiting rather than leave you with a blank page.",
                "Try again in a moment. If it keeps happening, tell your EHR administrator.", 504),
            LaunchProblemKind.EhrMisconfigured => new(kind, $"{ehr} is not set up for secure SMART launches",
                $"{ehr}'s SMART configuration lacks something the app requires (secure endpoints and PKCE).",
                "Tell your EHR administrator; nothing was sent.", 502),
            LaunchProblemKind.AccessDenied => new(kind, "Access was not allowed",
                "The app was not given access to the patient's record, so it cannot prepare a referral.",
                "If you meant to allow access, open the app again from the chart and approve it.", 403),
            LaunchProblemKind.AuthorizationFailed => new(kind, $"{ehr} did not sign you in to the app",
                $"{ehr} returned an error instead of signing you in.",
                "Open the app again from the chart. If it keeps happening, tell your EHR administrator.", 400),
            LaunchProblemKind.StateMismatch => new(kind, "This sign-in did not start here",
                "The answer from the EHR does not belong to a sign-in this browser started (or the browser did not keep the app's cookie), so it was not used.",
                "Open the app again from the patient's chart.", 400),
            LaunchProblemKind.StateReused => new(kind, "This sign-in was already used",
                "The same sign-in answer arrived twice; a sign-in can be used once only.",
                "Open the app again from the patient's chart.", 400),
            LaunchProblemKind.StateExpired => new(kind, "This sign-in has expired",
                "Too much time passed between opening the app and finishing the sign-in.",
                "Open the app again from the patient's chart.", 400),
            LaunchProblemKind.IssuerMismatch => new(kind, $"This sign-in answer did not come from {ehr}",
                $"The answer to the app's sign-in request did not name {ehr} as its sender, so the app did not use it and sent nothing on.",
                "Open the app again from the patient's chart. If it keeps happening, tell your EHR administrator.", 400),
            LaunchProblemKind.TokenError => new(kind, $"{ehr} did not complete the sign-in",
                $"{ehr} refused or failed to issue the app's access.",
                "Open the app again from the chart. If it keeps happening, tell your EHR administrator.", 502),
            LaunchProblemKind.IdentityUnverified => new(kind, "Your identity could not be confirmed",
                $"The app could not verify who you are from {ehr}'s answer, so it will not act on your behalf.",
                "Open the app again from the chart. If it keeps happening, tell your EHR administrator.", 502),
            LaunchProblemKind.NoPatient => new(kind, "No patient was chosen",
                "The app needs a patient to write a referral for, and none came with the launch.",
                "Open a patient's chart first, then open the app from it.", 400),
            LaunchProblemKind.SessionEnded => new(kind, "Your session with the app has ended",
                "The app no longer holds this patient's launch (it ended, or it was opened in another browser).",
                "Open the app again from the patient's chart.", 401),
            LaunchProblemKind.EhrSessionEnded => new(kind, $"Your session with {ehr} has ended",
                $"{ehr} no longer accepts the app's access to the patient's record (it answered 401 Unauthorized), so the app could not read it. Nothing was sent.",
                "Launch the app again: from the patient's chart, or with the link below (you may be asked to sign in to the EHR and pick the patient).", 401),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
    }
}
