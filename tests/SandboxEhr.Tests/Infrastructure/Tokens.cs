using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SandboxEhr.Tests.Infrastructure;

/// <summary>Checks the sandbox's tokens the way a client must (SMART "steps for using an ID token"): keys from the issuer's discovery.</summary>
public static class Tokens
{
    public static async Task<JsonWebToken> ValidateAsync(SandboxApp app, string token, string audience)
    {
        using var client = app.CreateClient();
        var cancellation = TestContext.Current.CancellationToken;
        var configuration = JsonDocument.Parse(await client.GetStringAsync("/.well-known/openid-configuration", cancellation)).RootElement;
        var issuer = configuration.GetProperty("issuer").GetString();
        var jwks = new JsonWebKeySet(await client.GetStringAsync(new Uri(configuration.GetProperty("jwks_uri").GetString()!), cancellation));
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidAudience = audience,
            IssuerSigningKeys = jwks.Keys,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            LifetimeValidator = (notBefore, expires, _, _) => expires > app.Time.GetUtcNow().UtcDateTime,
        });
        Assert.True(result.IsValid, result.Exception?.ToString());
        return (JsonWebToken)result.SecurityToken;
    }

    public static string Claim(this JsonWebToken token, string name) => token.GetPayloadValue<string>(name);
}
