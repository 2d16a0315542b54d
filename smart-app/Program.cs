using Referral.Operations;
using Referral.SmartApp.Admin;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Health;
using Referral.SmartApp.Inbox;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Referrals;
using Referral.SmartApp.Security;

namespace Referral.SmartApp;

public sealed class Program
{
    private Program()
    {
    }

    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var services = builder.Services;
        var configuration = builder.Configuration;

        // Operations: traces and metrics (exported only where settings say), and requests in flight finished on SIGTERM.
        builder.AddTelemetry("referral-smart-app", HealthEndpoints.Path).AddGracefulShutdown(TimeSpan.FromSeconds(20)).AddRequestLog();

        // The one place this app takes the machine clock (RS0030 bans it elsewhere): every component reads time through
        // the TimeProvider registered here, which the tests replace with a fake clock.
#pragma warning disable RS0030 // Why: this one registration is where the app takes the machine clock; everything else reads the injected TimeProvider.
        services.AddSingleton(TimeProvider.System);
#pragma warning restore RS0030
        services.AddMemoryCache();

        // Security: the app's keys (JWKS), the server-side session behind an opaque cookie, shared by all instances in Redis.
        services.AddSigningKeys(configuration);
        services.AddAppSessions(configuration);

        // Launch: the EHR allow-list, SMART discovery, tokens, id_token validation.
        services.AddEhrAllowList(configuration);
        services.AddSmartLaunch();

        // Ehr: FHIR reads and writes at the launching EHR, its style.
        services.AddEhrAccess();

        // Referrals and Status: the form, the functions API, the shared builder and validator.
        services.AddReferrals(configuration);

        // Admin: the registration document, the installation page and the self-check.
        services.AddAdmin(configuration);

        // Inbox: therapists sign in with OpenID Connect (a cookie of its own for /inbox), their referrals and sessions.
        services.AddInbox(configuration);

        // Rate limits per client address on /launch and the inbox sign-in's callback.
        services.AddRateLimits(configuration);

        services.AddRazorPages(pages =>
        {
            pages.RootDirectory = "/";
            pages.Conventions.AuthorizeFolder("/Inbox", InboxAuthentication.Policy);
            pages.Conventions.AllowAnonymousToPage("/Inbox/SignedOut");
            // The self-check shows key locations and internal URLs: administrators only (the inbox's sign-in, app role).
            pages.Conventions.AuthorizePage("/Admin/SelfCheck", InboxAuthentication.AdminPolicy);
        });

        var app = builder.Build();

        app.UseRequestLog(HealthEndpoints.Path);
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/Error");
            app.UseHsts();
        }

        app.UseSecurityHeaders();
        app.UseStaticFiles();
        // Before authentication: the inbox sign-in's callback is answered by the OpenID Connect handler there.
        app.UseRateLimiter();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.MapHealth();
        app.MapJwks();
        app.MapRegistrationDocument();
        app.MapEhrStyle();
        app.MapConditionSearch();
        app.MapRazorPages();
        // Last, once every endpoint is mapped: the router and the authorization policy cache share one build of them.
        app.BuildEndpointsOnce();

        await app.RunAsync();
    }
}
