using Microsoft.Extensions.Options;
using Referral.Model.Referrals;
using Referral.Model.Terminology;

namespace Referral.SmartApp.Referrals;

public static class ReferralRegistration
{
    public static IServiceCollection AddReferrals(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FunctionsOptions>()
            .Bind(configuration.GetSection(FunctionsOptions.Section))
            .Validate(o => Uri.TryCreate(o.BaseUrl, UriKind.Absolute, out _), "Functions:BaseUrl must be the functions app's absolute URL.")
            .ValidateOnStart();
        // FunctionsApi.Timeout bounds each call on the app's clock; HttpClient's own timeout, on the machine's timer, is only a backstop behind it.
        services.AddHttpClient<FunctionsApi>(http => http.Timeout = FunctionsApi.Timeout * 2);
        services.AddSingleton<ReferralBuilder>();
        services.AddOptions<ReferralTimeRules>().BindConfiguration(ReferralTimeRules.Section)
            .Validate(r => r.IsUsable, ReferralTimeRules.SettingsRule).ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ReferralTimeRules>>().Value);
        services.AddSingleton<ReferralValidator>();
        services.AddSingleton<ValueSetExpander>();
        services.AddSingleton<ReferralSender>();
        services.AddSingleton<FormChecks>();
        return services;
    }

    /// <summary>
    /// The diagnosis type-ahead: medical-massage conditions matching the typed words (names, synonyms, codes), from
    /// the shared ValueSet; the form works without it (the server resolves what was typed).
    /// </summary>
    public static IEndpointRouteBuilder MapConditionSearch(this IEndpointRouteBuilder app)
    {
        app.MapGet("/terminology/conditions", (string? filter) =>
        {
            var matches = string.IsNullOrWhiteSpace(filter) || filter.Length > 100
                ? []
                : ValueSetExpander.Match(ReferralValueSets.Conditions, filter)
                    .Where(c => c.System == Referral.Model.Canonicals.Icd10Cm)
                    .Take(20)
                    .Select(c => new ConditionOption(c.Code, $"{c.Code} {c.Display}", ReferralForm.SuggestedSites(c.Code)));
            return Results.Json(matches.ToList());
        });
        return app;
    }

    public sealed record ConditionOption(string Code, string Label, IReadOnlyList<string> Sites);
}
