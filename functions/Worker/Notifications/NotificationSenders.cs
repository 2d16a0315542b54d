using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Referral.Worker.Notifications;

/// <summary>Where notification messages go: a pickup folder locally, an SMTP server in production.</summary>
public interface INotificationSender
{
    Task SendAsync(MimeMessage message, CancellationToken cancellationToken);
}

/// <summary>
/// Writes each message as an .eml file named after its Message-Id, so a message sent twice (a redelivered queue
/// message) is one file, and a developer can open what a therapist would have received. Each attempt writes its own
/// temporary file, then moves it into place (atomic on one volume), so attempts at once never share a file and a
/// reader never sees half a message.
/// </summary>
public sealed class PickupFolderSender(IOptions<NotificationOptions> options, IHostEnvironment environment) : INotificationSender
{
    public string Folder { get; } = Path.GetFullPath(Path.Combine(environment.ContentRootPath, options.Value.PickupFolder));

    public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        Directory.CreateDirectory(Folder);
        var name = string.Concat((message.MessageId ?? Guid.NewGuid().ToString("N")).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_'));
        var file = Path.Combine(Folder, name + ".eml");
        var temporary = Path.Combine(Folder, $"{name}.{Guid.NewGuid():N}.tmp");
        try
        {
            await message.WriteToAsync(temporary, cancellationToken);
            File.Move(temporary, file, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}

/// <summary>Sends through the configured SMTP server (MailKit), one connection per message: notifications are few.</summary>
public sealed class SmtpSender(IOptions<NotificationOptions> options) : INotificationSender
{
    public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        var smtp = options.Value.Smtp;
        using var client = new SmtpClient();
        var security = !smtp.UseTls ? SecureSocketOptions.None : smtp.Port == 465 ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls;
        await client.ConnectAsync(smtp.Host, smtp.Port, security, cancellationToken);
        if (!string.IsNullOrEmpty(smtp.UserName))
        {
            await client.AuthenticateAsync(smtp.UserName, smtp.Password ?? "", cancellationToken);
        }

        await client.SendAsync(message, cancellationToken);
        await client.DisconnectAsync(quit: true, cancellationToken);
    }
}
