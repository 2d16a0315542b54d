using System.Text;
using System.Text.Encodings.Web;

namespace SandboxEhr.Auth;

/// <summary>The two protocol pages that are not Razor pages: an error that must not redirect, and form_post.</summary>
public static class HtmlPages
{
    /// <summary>RFC 6749 §4.1.2.1: with an unknown client or redirect URI the server must not redirect, so it tells the user.</summary>
    public static IResult Error(string title, string message) => Results.Content(
        Page(title, $"<h1>{Encode(title)}</h1><p role=\"alert\">{Encode(message)}</p><p>Go back to the app and start again.</p>"),
        "text/html; charset=utf-8",
        Encoding.UTF8,
        StatusCodes.Status400BadRequest);

    /// <summary>
    /// OAuth 2.0 Form Post Response Mode (what ASP.NET Core's OpenIdConnect handler asks for by default):
    /// the browser posts the response to the redirect URI. A script file submits it; the button works without script.
    /// </summary>
    public static IResult FormPost(string action, IEnumerable<KeyValuePair<string, string?>> fields)
    {
        var inputs = new StringBuilder();
        foreach (var (name, value) in fields)
        {
            inputs.Append(CultureInvariant($"<input type=\"hidden\" name=\"{Encode(name)}\" value=\"{Encode(value ?? "")}\">"));
        }

        var body = $"<h1>Returning to the app</h1><form id=\"form-post\" method=\"post\" action=\"{Encode(action)}\">{inputs}<button type=\"submit\">Continue</button></form>"
            + "<script src=\"/js/form-post.js\"></script>";
        return Results.Content(Page("Returning to the app", body), "text/html; charset=utf-8", Encoding.UTF8);
    }

    private static string Page(string title, string body) =>
        $"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        + $"<title>{Encode(title)} - Sandbox EHR</title><link rel=\"stylesheet\" href=\"/css/sandbox.css\"></head><body><main>{body}</main></body></html>";

    private static string Encode(string value) => HtmlEncoder.Default.Encode(value);

    private static string CultureInvariant(FormattableString value) => FormattableString.Invariant(value);
}
