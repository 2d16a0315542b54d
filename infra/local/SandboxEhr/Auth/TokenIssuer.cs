using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SandboxEhr.Clients;

namespace SandboxEhr.Auth;

/// <summary>
/// Makes the sandbox's JWTs: access tokens in the RFC 9068 shape (so the FHIR endpoint, and the functions app
/// for therapist tokens, can check them without calling back) and OpenID Connect id_tokens.
/// </summary>
public sealed class TokenIssuer(SigningKeys keys, TimeProvider time, AuthorizationStore store)
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public (string Token, TimeSpan Lifetime) AccessToken(SandboxEndpoints urls, RegisteredClient client, Grant grant, TimeSpan lifetime)
    {
        var now = time.GetUtcNow();
        var jti = RandomTokens.Create(16);
        var claims = new Dictionary<string, object>
        {
            [JwtRegisteredClaimNames.Sub] = grant.User?.Id ?? client.ClientId,
            [JwtRegisteredClaimNames.Jti] = jti,
            ["client_id"] = client.ClientId,
            ["scope"] = Scopes.Join(grant.Scopes),
        };
        if (grant.User is { } user)
        {
            claims["fhirUser"] = FhirUser(urls, client, user);
            claims["name"] = user.Name;

            // As Entra ID puts the API's app roles assigned to the user in its access tokens: the functions API's
            // administrator endpoints (the self-check's list of write-back choices) read them from here.
            if (client.UserType == UserTypes.Therapist && user.AppRoles.Count > 0)
            {
                claims["roles"] = user.AppRoles.ToArray();
            }
        }

        if (grant.PatientId is not null)
        {
            claims["patient"] = grant.PatientId;
        }

        if (grant.EncounterId is not null)
        {
            claims["encounter"] = grant.EncounterId;
        }

        var token = Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = urls.Issuer,
            Audience = client.AccessTokenAudience ?? urls.Fhir,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + lifetime).UtcDateTime,
            TokenType = "at+jwt",
            Claims = claims,
            SigningCredentials = keys.Credentials,
        });
        store.RecordAccessToken(grant.Id, jti, now + lifetime);
        return (token, lifetime);
    }

    public string IdToken(SandboxEndpoints urls, RegisteredClient client, Grant grant, string accessToken, string? nonce)
    {
        var user = grant.User ?? throw new InvalidOperationException("An id_token needs a signed-in user.");
        var now = time.GetUtcNow();
        var claims = new Dictionary<string, object>
        {
            [JwtRegisteredClaimNames.Sub] = user.Id,
            [JwtRegisteredClaimNames.AuthTime] = now.ToUnixTimeSeconds(),
            [JwtRegisteredClaimNames.AtHash] = AtHash(accessToken),
        };
        if (grant.Has(Scopes.FhirUser))
        {
            claims["fhirUser"] = FhirUser(urls, client, user);
        }

        if (grant.Has(Scopes.Profile) || grant.Has(Scopes.FhirUser))
        {
            claims["name"] = user.Name;
        }

        if (grant.Has(Scopes.Profile))
        {
            AddIfPresent(claims, JwtRegisteredClaimNames.GivenName, user.GivenName);
            AddIfPresent(claims, JwtRegisteredClaimNames.FamilyName, user.FamilyName);
        }

        // Like Entra ID, the inbox's provider states the user's app roles for the app that signs them in.
        if (client.UserType == UserTypes.Therapist && user.AppRoles.Count > 0)
        {
            claims["roles"] = user.AppRoles.ToArray();
        }

        AddIfPresent(claims, JwtRegisteredClaimNames.Nonce, nonce);
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = urls.Issuer,
            Audience = client.ClientId,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + TimeSpan.FromHours(1)).UtcDateTime,
            Claims = claims,
            SigningCredentials = keys.Credentials,
        });
    }

    /// <summary>
    /// SMART defines fhirUser as the absolute URL of the user's FHIR resource. The therapist inbox is plain OpenID
    /// Connect, and the functions app finds the therapist by the relative <c>PractitionerRole/{id}</c>.
    /// </summary>
    private static string FhirUser(SandboxEndpoints urls, RegisteredClient client, SandboxUser user) =>
        client.UserType == UserTypes.Therapist ? $"{user.ResourceType}/{user.Id}" : urls.FhirUser(user.ResourceType, user.Id);

    /// <summary>OpenID Connect Core §3.1.3.6: the left half of the SHA-256 of the access token, for RS256.</summary>
    private static string AtHash(string accessToken)
    {
        var hash = SHA256.HashData(Encoding.ASCII.GetBytes(accessToken));
        return Base64Url.EncodeToString(hash.AsSpan(0, hash.Length / 2));
    }

    private static void AddIfPresent(Dictionary<string, object> claims, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            claims[name] = value;
        }
    }
}
