using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Referral.SmartApp.Inbox;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// For tests of what the admin pages show (not of who may see them, AdminSignInTests): the administrator policy lets
/// every request through, as if an administrator had signed in.
/// </summary>
public static class AdminAccess
{
    public static void Open(IServiceCollection services) =>
        services.PostConfigure<AuthorizationOptions>(o => o.AddPolicy(InboxAuthentication.AdminPolicy, p => p.RequireAssertion(_ => true)));
}
