using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Referral.Model.Signing;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Model;

/// <summary>The shared signing code: one kid scheme (RFC 7638) for local and vault keys, and JWTs any verifier accepts.</summary>
public sealed class SigningKeyTests
{
    [Theory]
    [InlineData("RS384")]
    [InlineData("ES384")]
    public async Task A_local_key_has_the_RFC_7638_thumbprint_as_kid_and_signs_JWTs_that_verify_with_its_published_JWK(string algorithm)
    {
        using AsymmetricAlgorithm key = algorithm == "RS384" ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var pem = key is RSA rsa ? rsa.ExportPkcs8PrivateKeyPem() : ((ECDsa)key).ExportPkcs8PrivateKeyPem();
        using var signing = LocalSigningKey.FromPem(algorithm, pem);
        var expected = key is RSA r
            ? JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(r.ExportParameters(false)))
            : JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(((ECDsa)key).ExportParameters(false))));

        var jwt = await Jwt.SignAsync(signing, new Dictionary<string, object> { ["iss"] = "me", ["exp"] = TestClock.Now.AddMinutes(1).ToUnixTimeSeconds() }, TestContext.Current.CancellationToken);

        Assert.Equal(Base64UrlEncoder.Encode(expected.ComputeJwkThumbprint()), signing.Kid);
        var jwk = signing.PublicKey;
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            IssuerSigningKey = new JsonWebKey { Kty = jwk.Kty, Kid = jwk.Kid, N = jwk.N, E = jwk.E, Crv = jwk.Crv, X = jwk.X, Y = jwk.Y },
            ValidIssuer = "me",
            ValidateAudience = false,
            ValidAlgorithms = [algorithm],
            LifetimeValidator = TestClock.Lifetime(TestClock.Provider),
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        var header = new JsonWebToken(jwt);
        Assert.Equal((algorithm, "JWT", signing.Kid), (header.Alg, header.Typ, header.Kid));
    }

    [Fact]
    public void A_modulus_with_a_leading_zero_octet_gives_the_same_kid_as_without_it()
    {
        using var rsa = RSA.Create(2048);
        var parameters = rsa.ExportParameters(false);
        var padded = parameters with { Modulus = [0, .. parameters.Modulus!] };

        Assert.Equal(PublicJwk.Rsa(parameters, "RS384").Kid, PublicJwk.Rsa(padded, "RS384").Kid);
        Assert.Equal(Base64Url.EncodeToString(parameters.Modulus!), PublicJwk.Rsa(padded, "RS384").N);
    }
}
