using System.Globalization;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace Referral.Functions.Fhir;

/// <summary>One search parameter an endpoint takes, as the CapabilityStatement declares it.</summary>
public sealed record SearchParam(string Name, SearchParamType Type, string Documentation);

/// <summary>
/// What a search endpoint accepts: its parameters (besides <c>_count</c> and <c>_page</c>, which every search takes),
/// its <c>_include</c>s, and its page size. The handler reads its request through it and the CapabilityStatement is
/// written from it (it is the endpoint's metadata), so the two cannot differ.
/// </summary>
public sealed record SearchDeclaration(string ResourceType, IReadOnlyList<SearchParam> Parameters, int DefaultCount, int MaxCount)
{
    public IReadOnlyList<string> Includes { get; init; } = [];

    /// <summary>The <c>_revinclude</c>s: resources that point at each match, added to the page beside it.</summary>
    public IReadOnlyList<string> RevIncludes { get; init; } = [];

    /// <summary>The <c>_revinclude:iterate</c>s: resources that point at an included resource, added beside it.</summary>
    public IReadOnlyList<string> RevIncludesIterate { get; init; } = [];

    /// <summary>Where the Bundle's <c>total</c> is given, and where it is left out.</summary>
    public required string TotalDocumentation { get; init; }

    public SearchParam CountParameter => new(Search.CountName, SearchParamType.Number,
        $"Page size, 1 to {MaxCount} (default {DefaultCount}; a larger value is served as {MaxCount}, or refused under Prefer: handling=strict); further pages follow the Bundle's next link. {TotalDocumentation}");

    /// <summary>Every parameter name the endpoint applies.</summary>
    public IEnumerable<string> Names => Parameters.Select(p => p.Name)
        .Concat(Includes.Count > 0 ? ["_include"] : [])
        .Concat(RevIncludes.Count > 0 ? ["_revinclude"] : [])
        .Concat(RevIncludesIterate.Count > 0 ? ["_revinclude:iterate"] : [])
        .Append(Search.CountName).Append(Search.PageName);
}

/// <summary>
/// One search request, read as FHIR servers do: parameters the endpoint does not take are ignored (and left out of the
/// <c>self</c> link), unless the client sends <c>Prefer: handling=strict</c>, which makes them a 400 naming the
/// parameter. Every search pages: <c>_count</c> (up to the declared maximum) and an opaque <c>next</c> link whose
/// <c>_page</c> is bound to the caller and the search (<see cref="PageTokens"/>).
/// </summary>
public sealed class Search
{
    public const string CountName = "_count";
    public const string PageName = "_page";

    /// <summary>Parameters of every interaction, not of the search: never reported as ignored.</summary>
    private static readonly string[] General = ["_format", "_pretty"];

    private readonly HttpContext http;
    private readonly PageTokens tokens;
    private readonly string caller;
    private readonly Dictionary<string, StringValues> applied;
    private readonly string? page;

    private Search(HttpContext http, PageTokens tokens, SearchDeclaration declaration, Dictionary<string, StringValues> applied, int count, string? page, string? position)
    {
        this.http = http;
        this.tokens = tokens;
        this.applied = applied;
        this.page = page;
        Declaration = declaration;
        Count = count;
        Position = position;
        caller = ApiRateLimits.CallerKey(http);
        Query = new QueryCollection(applied);
    }

    public SearchDeclaration Declaration { get; }

    /// <summary>The parameters applied: those the endpoint takes, as sent (with the page size served).</summary>
    public IQueryCollection Query { get; }

    public int Count { get; }

    /// <summary>Where this page starts (from a verified <c>_page</c>); null on the first page.</summary>
    public string? Position { get; }

    /// <summary>The request's search, or the 400 that refuses it: an unknown parameter under <c>handling=strict</c>, a bad <c>_count</c>, a <c>_page</c> this API did not give this caller for this search.</summary>
    public static async Task<(Search? Search, FhirResult? Error)> ReadAsync(HttpContext http, SearchDeclaration declaration, PageTokens tokens)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(declaration);
        ArgumentNullException.ThrowIfNull(tokens);
        var query = http.Request.Query;
        var names = declaration.Names.ToHashSet(StringComparer.Ordinal);
        if (IsStrict(http.Request) && query.Keys.FirstOrDefault(k => !names.Contains(k) && !General.Contains(k, StringComparer.Ordinal)) is { } unknown)
        {
            return (null, Outcome.BadRequest(
                $"The search parameter '{unknown}' is not supported by {declaration.ResourceType} search; it takes {string.Join(", ", declaration.Names)} (Prefer: handling=strict).", unknown));
        }

        var count = declaration.DefaultCount;
        if (query.TryGetValue(CountName, out var countText)
            && (countText.Count != 1 || !int.TryParse(countText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1
                || (count > declaration.MaxCount && IsStrict(http.Request))))
        {
            return (null, Outcome.BadRequest($"_count must be a whole number from 1 to {declaration.MaxCount}.", CountName));
        }

        count = Math.Min(count, declaration.MaxCount);
        var applied = new Dictionary<string, StringValues>(StringComparer.Ordinal);
        foreach (var (name, values) in query.Where(q => names.Contains(q.Key) && q.Key is not (CountName or PageName)))
        {
            applied[name] = values;
        }

        applied[CountName] = count.ToString(CultureInfo.InvariantCulture);
        var search = new Search(http, tokens, declaration, applied, count, null, null);
        if (!query.TryGetValue(PageName, out var pageValue))
        {
            return (search, null);
        }

        if (pageValue.Count != 1 || await tokens.UnprotectAsync(search.caller, search.Signature, pageValue.ToString()) is not { } position)
        {
            return (null, Outcome.BadRequest(
                "_page is not a page of this search: follow the next link of the Bundle as given, with the same parameters and the same credentials.", PageName));
        }

        return (new Search(http, tokens, declaration, applied, count, pageValue.ToString(), position), null);
    }

    /// <summary><c>Prefer: handling=strict</c> (RFC 7240, FHIR's search handling).</summary>
    public static bool IsStrict(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Headers["Prefer"].SelectMany(v => (v ?? "").Split([',', ';'], StringSplitOptions.TrimEntries))
            .Any(p => string.Equals(p.Replace(" ", "", StringComparison.Ordinal), "handling=strict", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The search this page belongs to: the type and the applied parameters in a fixed order.</summary>
    private string Signature => Declaration.ResourceType + "?" + string.Join("&", applied.OrderBy(p => p.Key, StringComparer.Ordinal)
        .SelectMany(p => p.Value.Select(v => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(v ?? ""))));

    private string Link(string? pageToken)
    {
        var parameters = applied.OrderBy(p => p.Key, StringComparer.Ordinal)
            .SelectMany(p => p.Value.Select(v => KeyValuePair.Create(p.Key, v)))
            .ToList();
        if (pageToken is not null)
        {
            parameters.Add(KeyValuePair.Create(PageName, (string?)pageToken));
        }

        return QueryHelpers.AddQueryString($"{http.Request.Scheme}://{http.Request.Host}/api/fhir/{Declaration.ResourceType}", parameters);
    }

    /// <summary>
    /// The searchset: the matches (then any included resources), <c>self</c> (the parameters applied) and, when more
    /// follow, <c>next</c> (the position of the next page, protected). <paramref name="total"/> only where exact.
    /// </summary>
    public async Task<Bundle> BundleAsync(IEnumerable<Resource> matches, string? nextPosition, int? total, IEnumerable<Resource>? included = null, Func<Resource, string>? fullUrl = null)
    {
        ArgumentNullException.ThrowIfNull(matches);
        var bundle = new Bundle { Type = Bundle.BundleType.Searchset, Total = total };
        bundle.Link.Add(new Bundle.LinkComponent { Relation = "self", Url = Link(page) });
        if (nextPosition is not null)
        {
            bundle.Link.Add(new Bundle.LinkComponent { Relation = "next", Url = Link(await tokens.ProtectAsync(caller, Signature, nextPosition)) });
        }

        var baseUrl = $"{http.Request.Scheme}://{http.Request.Host}/api/fhir/";
        foreach (var (resource, mode) in matches.Select(r => (r, Bundle.SearchEntryMode.Match))
                     .Concat((included ?? []).Select(r => (r, Bundle.SearchEntryMode.Include))))
        {
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = fullUrl?.Invoke(resource) ?? $"{baseUrl}{resource.TypeName}/{resource.Id}",
                Resource = resource,
                Search = new Bundle.SearchComponent { Mode = mode },
            });
        }

        return bundle;
    }

    /// <summary>This page of results the endpoint holds in full (an offset into them), and the position of the next page if any.</summary>
    public (IReadOnlyList<T> Page, string? NextPosition) Slice<T>(IReadOnlyList<T> all)
    {
        ArgumentNullException.ThrowIfNull(all);
        var offset = Position is not null && int.TryParse(Position, NumberStyles.None, CultureInfo.InvariantCulture, out var at) ? Math.Min(at, all.Count) : 0;
        var end = Math.Min(all.Count, offset + Count);
        return ([.. all.Skip(offset).Take(Count)], end < all.Count ? end.ToString(CultureInfo.InvariantCulture) : null);
    }

    /// <summary>A searchset of results held in full: this page, with the exact total.</summary>
    public Task<Bundle> PagedBundleAsync(IReadOnlyList<Resource> all)
    {
        var (slice, next) = Slice(all);
        return BundleAsync(slice, next, all.Count);
    }
}
