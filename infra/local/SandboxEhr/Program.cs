using Microsoft.Extensions.Options;
using Referral.Operations;
using SandboxEhr.Auth;
using SandboxEhr.Clients;
using SandboxEhr.Ehr;
using SandboxEhr.Fhir;

namespace SandboxEhr;

/// <summary>
/// The sandbox EHR: a small SMART on FHIR EHR for the local run and the browser tests (development only).
/// It serves the EHR pages, the SMART / OpenID Connect authorization server and a FHIR R4 endpoint.
/// </summary>
public sealed class Program
{
    private Program()
    {
    }

    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);

        builder.Services.AddOptions<SandboxOptions>().BindConfiguration(SandboxOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<SandboxOptions>, SandboxOptionsValidator>();
        // The one place this app takes the machine clock (RS0030 bans it elsewhere): every component reads time through
        // the TimeProvider registered here, which the tests replace with a fake clock.
#pragma warning disable RS0030 // Why: this one registration is where the app takes the machine clock; everything else reads the injected TimeProvider.
        builder.Services.AddSingleton(TimeProvider.System);
#pragma warning restore RS0030
        builder.Services.AddSingleton<SandboxUrls>();

        // Records and the people who sign in.
        builder.Services.AddSingleton<FhirStore>();
        builder.Services.AddSingleton<SandboxUsers>();

        // Clients, from configuration and RFC 7591 registration; their JWKS are fetched over HTTP.
        builder.Services.AddSingleton<ClientRegistry>();
        builder.Services.AddSingleton<ClientKeys>();
        builder.Services.AddHttpClient(ClientKeys.HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(10));

        // The authorization server.
        builder.Services.AddSingleton<SigningKeys>();
        builder.Services.AddSingleton<AuthorizationStore>();
        builder.Services.AddSingleton<AuthorizationResponder>();
        builder.Services.AddSingleton<ClientAuthenticator>();
        builder.Services.AddSingleton<TokenIssuer>();
        builder.Services.AddSingleton<FhirAccess>();

        // The EHR as a CDS Hooks client: charts and the order screen call the configured services.
        builder.Services.AddSingleton<CdsHooksClient>();
        builder.Services.AddHttpClient(CdsHooksClient.HttpClientName);

        // The EHR's own pages and sign-in.
        builder.Services.AddRazorPages(pages => pages.RootDirectory = "/");
        builder.Services.AddAuthentication(EhrSession.Scheme).AddCookie(EhrSession.Scheme, cookie =>
        {
            cookie.Cookie.Name = "sandbox-ehr";
            cookie.LoginPath = "/";
        });
        builder.Services.AddAuthorization();
        builder.Services.AddCors(cors => cors.AddPolicy(Cors.Public, policy => policy.AllowAnyOrigin().AllowAnyHeader().AllowAnyMethod()));

        var app = builder.Build();

        app.UseStaticFiles(new StaticFileOptions
        {
            // A browser-based SMART app may fetch smart_style_url from its own origin.
            OnPrepareResponse = file =>
            {
                if (file.File.Name == "smart-style.json")
                {
                    file.Context.Response.Headers.AccessControlAllowOrigin = "*";
                }
            },
        });
        app.UseRouting();
        app.UseCors();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapDiscovery();
        app.MapAuthorize();
        app.MapToken();
        app.MapRegistration();
        app.MapFhir();
        app.MapRazorPages();
        app.BuildEndpointsOnce();

        await app.RunAsync();
    }
}
