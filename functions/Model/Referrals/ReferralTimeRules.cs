namespace Referral.Model.Referrals;

/// <summary>
/// How far the clocks may disagree and how far back a prescription may reach (settings section <c>Referrals</c>).
/// The smart-app that stamps a referral and the API that judges it run on different machines, and a therapist's
/// session time is typed by a person: "not in the future" allows for that, everywhere the same.
/// </summary>
public sealed class ReferralTimeRules
{
    public const string Section = "Referrals";

    /// <summary>How far a time may run ahead of this server's clock and still not be "in the future" (default 5 minutes).</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How many days before the day it was written a referral's validity may start (default 0: not before).</summary>
    public int ValidityBackdateDays { get; set; }

    /// <summary>What the settings must be, naming them, for the start-up error.</summary>
    public const string SettingsRule =
        "Referrals:ClockSkew must be between 00:00:00 and 01:00:00, and Referrals:ValidityBackdateDays between 0 and 366.";

    public bool IsUsable =>
        ClockSkew >= TimeSpan.Zero && ClockSkew <= TimeSpan.FromHours(1)
        && ValidityBackdateDays is >= 0 and <= MedicalMassageServiceRequest.MaxValidityDays;
}
