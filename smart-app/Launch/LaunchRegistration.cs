namespace Referral.SmartApp.Launch;

public static class LaunchRegistration
{
    public static IServiceCollection AddSmartLaunch(this IServiceCollection services)
    {
        // Per-call timeouts (discovery 5 s, token 10 s, FHIR 10 s) are set where each call is made; this is the backstop.
        services.AddHttpClient(EhrHttp.ClientName, http => http.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton<SmartDiscovery>();
        services.AddSingleton<ClientAssertions>();
        services.AddSingleton<SmartTokens>();
        services.AddSingleton<IdTokenValidator>();
        services.AddSingleton<LaunchContexts>();
        return services;
    }
}
