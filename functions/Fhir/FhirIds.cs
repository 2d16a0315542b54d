namespace Referral.Functions.Fhir;

/// <summary>The <c>{id}</c> in an endpoint's address, checked by a filter before the handler runs (and before storage sees it).</summary>
public static class FhirIds
{
    /// <summary>The 400 for an id in the address that is not a FHIR id; null for a valid one.</summary>
    public static FhirResult? Invalid(string id) =>
        SearchQuery.IsFhirId(id) ? null : Outcome.BadRequest("The id in the address is not a FHIR id (letters, digits, '-' and '.', at most 64).", "id");

    /// <summary>The endpoint answers the 400 of <see cref="Invalid"/> for a route <c>{id}</c> that is not a FHIR id; its handler runs only for a valid one.</summary>
    public static TBuilder ValidatesId<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
            context.HttpContext.GetRouteValue("id") is string id && Invalid(id) is { } invalid ? invalid : await next(context));
}
