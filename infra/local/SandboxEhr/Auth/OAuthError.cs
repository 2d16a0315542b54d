using System.Text.Json.Serialization;

namespace SandboxEhr.Auth;

/// <summary>An RFC 6749 §5.2 error body.</summary>
public sealed record OAuthErrorBody(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("error_description")] string Description);

/// <summary>An error of the token endpoint, with the status RFC 6749 gives it (401 for a failed client authentication).</summary>
public sealed record OAuthError(string Error, string Description, int Status = StatusCodes.Status400BadRequest, string? Challenge = null)
{
    public const string InvalidRequest = "invalid_request";
    public const string InvalidClient = "invalid_client";
    public const string InvalidGrant = "invalid_grant";
    public const string UnauthorizedClient = "unauthorized_client";
    public const string UnsupportedGrantType = "unsupported_grant_type";
    public const string InvalidScope = "invalid_scope";
    public const string AccessDenied = "access_denied";
    public const string UnsupportedResponseType = "unsupported_response_type";

    public static OAuthError Client(string description, string? challenge = null) =>
        new(InvalidClient, description, StatusCodes.Status401Unauthorized, challenge);

    public IResult ToResult(HttpResponse response)
    {
        if (Challenge is not null)
        {
            response.Headers.WWWAuthenticate = Challenge;
        }

        return Results.Json(new OAuthErrorBody(Error, Description), statusCode: Status);
    }
}
