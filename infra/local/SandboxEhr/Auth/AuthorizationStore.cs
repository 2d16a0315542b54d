namespace SandboxEhr.Auth;

/// <summary>
/// Launches, pending requests, codes, refresh tokens, used client-assertion ids and revocations, in memory:
/// a development EHR forgets them on restart. Expiry uses <see cref="TimeProvider"/> so tests can move time.
/// </summary>
public sealed class AuthorizationStore(TimeProvider time)
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, (EhrLaunch Launch, bool Used)> launches = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PendingAuthorization> pending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (IssuedCode Code, bool Used)> codes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (IssuedRefreshToken Token, bool Used)> refreshTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> assertionIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(string Jti, DateTimeOffset ExpiresAt)>> accessTokensByGrant = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> revokedAccessTokens = new(StringComparer.Ordinal);
    private readonly HashSet<string> revokedGrants = new(StringComparer.Ordinal);

    private DateTimeOffset Now => time.GetUtcNow();

    public EhrLaunch CreateLaunch(string clientId, string patientId, string? encounterId, string practitionerId, TimeSpan lifetime, string? appContext = null)
    {
        var launch = new EhrLaunch(RandomTokens.Create(), clientId, patientId, encounterId, practitionerId, Now + lifetime, appContext);
        lock (gate)
        {
            Purge();
            launches[launch.Id] = (launch, false);
        }

        return launch;
    }

    /// <summary>Uses up a launch: it is single use, short lived, and only for the app it was made for.</summary>
    public EhrLaunch? TakeLaunch(string id, string clientId)
    {
        lock (gate)
        {
            if (!launches.TryGetValue(id, out var entry) || entry.Used || entry.Launch.ExpiresAt <= Now || entry.Launch.ClientId != clientId)
            {
                return null;
            }

            launches[id] = (entry.Launch, true);
            return entry.Launch;
        }
    }

    public PendingAuthorization SavePending(AuthorizationRequest request, TimeSpan lifetime)
    {
        var item = new PendingAuthorization(RandomTokens.Create(), request, Now + lifetime);
        lock (gate)
        {
            Purge();
            pending[item.Id] = item;
        }

        return item;
    }

    public PendingAuthorization? FindPending(string? id)
    {
        lock (gate)
        {
            return id is not null && pending.TryGetValue(id, out var item) && item.ExpiresAt > Now ? item : null;
        }
    }

    public PendingAuthorization? TakePending(string? id)
    {
        lock (gate)
        {
            if (id is null || !pending.Remove(id, out var item))
            {
                return null;
            }

            return item.ExpiresAt > Now ? item : null;
        }
    }

    public IssuedCode IssueCode(Grant grant, string redirectUri, string codeChallenge, string? nonce, TimeSpan lifetime)
    {
        var code = new IssuedCode(RandomTokens.Create(), grant, redirectUri, codeChallenge, nonce, Now + lifetime);
        lock (gate)
        {
            Purge();
            codes[code.Code] = (code, false);
        }

        return code;
    }

    /// <summary>
    /// Redeems a code once. A second use revokes what the first issued (RFC 6749 §4.1.2): someone else may hold the code.
    /// Used codes are kept until they expire so that a replay is recognised as one.
    /// </summary>
    public (RedeemOutcome Outcome, IssuedCode? Code) RedeemCode(string code)
    {
        lock (gate)
        {
            if (!codes.TryGetValue(code, out var entry))
            {
                return (RedeemOutcome.Unknown, null);
            }

            if (entry.Used)
            {
                RevokeGrant(entry.Code.Grant.Id);
                return (RedeemOutcome.AlreadyUsed, entry.Code);
            }

            codes[code] = (entry.Code, true);
            return entry.Code.ExpiresAt <= Now ? (RedeemOutcome.Expired, entry.Code) : (RedeemOutcome.Redeemed, entry.Code);
        }
    }

    public IssuedRefreshToken IssueRefreshToken(Grant grant, TimeSpan lifetime)
    {
        var token = new IssuedRefreshToken(RandomTokens.Create(), grant, Now + lifetime);
        lock (gate)
        {
            Purge();
            refreshTokens[token.Token] = (token, false);
        }

        return token;
    }

    /// <summary>Refresh tokens rotate: each is used once, and a replayed one revokes its whole grant.</summary>
    public (RedeemOutcome Outcome, IssuedRefreshToken? Token) RedeemRefreshToken(string token)
    {
        lock (gate)
        {
            if (!refreshTokens.TryGetValue(token, out var entry) || revokedGrants.Contains(entry.Token.Grant.Id))
            {
                return (RedeemOutcome.Unknown, null);
            }

            if (entry.Used)
            {
                RevokeGrant(entry.Token.Grant.Id);
                return (RedeemOutcome.AlreadyUsed, entry.Token);
            }

            refreshTokens[token] = (entry.Token, true);
            return entry.Token.ExpiresAt <= Now ? (RedeemOutcome.Expired, entry.Token) : (RedeemOutcome.Redeemed, entry.Token);
        }
    }

    /// <summary>Records a client assertion's jti until it expires; false when it was seen already (a replay).</summary>
    public bool TryUseAssertionId(string clientId, string jti, DateTimeOffset expiresAt)
    {
        var key = $"{clientId}\n{jti}";
        lock (gate)
        {
            Purge();
            if (assertionIds.TryGetValue(key, out var until) && until > Now)
            {
                return false;
            }

            assertionIds[key] = expiresAt;
            return true;
        }
    }

    public void RecordAccessToken(string grantId, string jti, DateTimeOffset expiresAt)
    {
        lock (gate)
        {
            if (!accessTokensByGrant.TryGetValue(grantId, out var list))
            {
                accessTokensByGrant[grantId] = list = [];
            }

            list.Add((jti, expiresAt));
        }
    }

    public bool IsRevoked(string jti)
    {
        lock (gate)
        {
            return revokedAccessTokens.ContainsKey(jti);
        }
    }

    private void RevokeGrant(string grantId)
    {
        revokedGrants.Add(grantId);
        if (accessTokensByGrant.Remove(grantId, out var tokens))
        {
            foreach (var (jti, expiresAt) in tokens)
            {
                revokedAccessTokens[jti] = expiresAt;
            }
        }
    }

    /// <summary>Drops what has expired; called under the lock on every write, which is plenty for a development EHR.</summary>
    private void Purge()
    {
        var now = Now;
        foreach (var key in launches.Where(e => e.Value.Launch.ExpiresAt <= now).Select(e => e.Key).ToList())
        {
            launches.Remove(key);
        }

        foreach (var key in pending.Where(e => e.Value.ExpiresAt <= now).Select(e => e.Key).ToList())
        {
            pending.Remove(key);
        }

        foreach (var key in codes.Where(e => e.Value.Code.ExpiresAt <= now - TimeSpan.FromMinutes(10)).Select(e => e.Key).ToList())
        {
            codes.Remove(key);
        }

        foreach (var key in refreshTokens.Where(e => e.Value.Token.ExpiresAt <= now).Select(e => e.Key).ToList())
        {
            refreshTokens.Remove(key);
        }

        foreach (var key in assertionIds.Where(e => e.Value <= now).Select(e => e.Key).ToList())
        {
            assertionIds.Remove(key);
        }

        foreach (var key in revokedAccessTokens.Where(e => e.Value <= now).Select(e => e.Key).ToList())
        {
            revokedAccessTokens.Remove(key);
        }
    }
}
