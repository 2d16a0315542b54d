using Duende.IdentityModel;
using Duende.IdentityModel.Client;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Launch;

/// <summary>
/// The one-time JWT that authenticates the app at an EHR's token endpoint (SMART confidential asymmetric client):
/// iss = sub = client_id, aud = the token URL it is posted to, a unique jti, exp five minutes ahead at most, kid and
/// alg (RS384 or ES384) in the header.
/// </summary>
public sealed class ClientAssertions(SigningKeys keys, TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(4);

    public async Task<ClientAssertion> CreateAsync(string clientId, string tokenEndpoint, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var jwt = await keys.SignAsync(SigningPurpose.ClientAssertion, new Dictionary<string, object>
        {
            [JwtClaimTypes.Issuer] = clientId,
            [JwtClaimTypes.Subject] = clientId,
            [JwtClaimTypes.Audience] = tokenEndpoint,
            [JwtClaimTypes.JwtId] = AppSession.Base64UrlToken(24),
            [JwtClaimTypes.IssuedAt] = now.ToUnixTimeSeconds(),
            [JwtClaimTypes.Expiration] = (now + Lifetime).ToUnixTimeSeconds(),
        }, cancellationToken);
        return new ClientAssertion { Type = OidcConstants.ClientAssertionTypes.JwtBearer, Value = jwt };
    }
}
