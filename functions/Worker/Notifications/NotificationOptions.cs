namespace Referral.Worker.Notifications;

public enum SenderKind
{
    /// <summary>Each message is written as an .eml file to a folder: the local run and the tests.</summary>
    PickupFolder,

    /// <summary>Each message is sent to an SMTP server.</summary>
    Smtp,
}

public sealed class NotificationOptions
{
    public const string Section = "Notifications";

    public SenderKind Sender { get; set; } = SenderKind.Smtp;

    /// <summary>For <see cref="SenderKind.PickupFolder"/>: the folder, absolute or relative to the content root.</summary>
    public string PickupFolder { get; set; } = "";

    /// <summary>The address messages come from.</summary>
    public string From { get; set; } = "";

    public SmtpSettings Smtp { get; set; } = new();

    /// <summary>Where physicians are told about their referrals, by requester (<c>Practitioner/{id}</c>).</summary>
    public List<PhysicianContact> Physicians { get; } = [];

    /// <summary>Where a physician with no address of their own is told (a practice's referral desk); none means not told.</summary>
    public string? PhysicianFallback { get; set; }
}

public sealed class SmtpSettings
{
    public string Host { get; set; } = "";

    public int Port { get; set; } = 587;

    /// <summary>STARTTLS on a plain port (587), or TLS from the start (465); off only for a local test server.</summary>
    public bool UseTls { get; set; } = true;

    public string? UserName { get; set; }

    public string? Password { get; set; }
}

public sealed class PhysicianContact
{
    /// <summary>The requester as the referral names it, e.g. <c>Practitioner/dr-amelia-stone</c>.</summary>
    public string Reference { get; set; } = "";

    public string Email { get; set; } = "";
}

public sealed class SmartAppOptions
{
    public const string Section = "SmartApp";

    /// <summary>The smart-app's public base URL: messages link to its pages.</summary>
    public string BaseUrl { get; set; } = "http://127.0.0.1:5200";
}
