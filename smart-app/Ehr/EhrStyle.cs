using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Caching.Memory;
using Referral.Model;
using Referral.SmartApp.Launch;

namespace Referral.SmartApp.Ehr;

/// <summary>
/// The EHR's <c>smart_style_url</c> turned into a small stylesheet the app serves from its own origin (so CSP keeps
/// <c>style-src 'self'</c>). Every value is checked against a strict pattern first: a style document cannot inject CSS.
/// </summary>
public sealed partial class EhrStyle(IHttpClientFactory clients, IMemoryCache cache, TimeProvider time)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromHours(1);

    /// <summary>SMART style property to the app's CSS custom property.</summary>
    private static readonly (string Smart, string Css, Kind Kind)[] Map =
    [
        ("color_background", "--surface-page", Kind.Color),
        ("color_text", "--ink", Kind.Color),
        ("color_highlight", "--accent", Kind.Color),
        ("color_error", "--error", Kind.Color),
        ("color_success", "--success", Kind.Color),
        ("dim_border_radius", "--radius", Kind.Dimension),
        ("dim_font_size", "--font-size", Kind.Dimension),
        ("dim_spacing_size", "--spacing", Kind.Dimension),
        ("font_family_body", "--font-body", Kind.Font),
        ("font_family_heading", "--font-heading", Kind.Font),
    ];

    private enum Kind
    {
        Color,
        Dimension,
        Font,
    }

    /// <summary>The stylesheet, or null when the style cannot be had quickly (the app's own look is fine).</summary>
    public async Task<string?> CssAsync(string url, CancellationToken cancellationToken)
    {
        if (!EhrTransport.IsProtected(url))
        {
            return null;
        }

        if (cache.TryGetValue("smart-style:" + url, out string? cached))
        {
            return cached;
        }

        using var timeout = new Deadline(SmartDiscovery.Timeout, time, cancellationToken);
        string? css;
        try
        {
            var json = await clients.CreateClient(EhrHttp.ClientName).GetStringAsync(new Uri(url), timeout.Token);
            css = ToCss(json);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            css = null;
        }

        cache.Set("smart-style:" + url, css, CacheFor);
        return css;
    }

    public static string? ToCss(string json)
    {
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var css = new StringBuilder(":root {\n");
        var any = false;
        foreach (var (smart, property, kind) in Map)
        {
            if (document.RootElement.TryGetProperty(smart, out var value) && value.ValueKind == JsonValueKind.String
                && value.GetString() is { } text && Safe(kind, text.Trim()))
            {
                css.Append(CultureInfo.InvariantCulture, $"  {property}: {text.Trim()};\n");
                any = true;
            }
        }

        return any ? css.Append("}\n").ToString() : null;
    }

    private static bool Safe(Kind kind, string value) => kind switch
    {
        Kind.Color => ColorPattern().IsMatch(value),
        Kind.Dimension => DimensionPattern().IsMatch(value),
        _ => FontPattern().IsMatch(value),
    };

    [GeneratedRegex("^#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")]
    private static partial Regex ColorPattern();

    [GeneratedRegex(@"^\d{1,3}(\.\d{1,3})?(px|rem|em)$")]
    private static partial Regex DimensionPattern();

    [GeneratedRegex(@"^[A-Za-z0-9 ,'\-]{1,200}$")]
    private static partial Regex FontPattern();
}
