using System.Net;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Referral.SmartApp.Referrals;

namespace Referral.SmartApp.Inbox;

/// <summary>One list of the inbox: which Task statuses it shows.</summary>
public sealed record InboxList(string Key, string Title, IReadOnlyList<string> Statuses);

/// <summary>
/// The therapist's inbox (<c>/inbox</c>): new, active and closed referrals with their counts, newest first, one list at
/// a time, paged by the API's continuation (<c>?list=new&amp;after=...</c>). Only the therapist's own: the API answers
/// for the owner of the access token.
/// </summary>
public sealed class IndexModel(FunctionsApi functions, IOptions<InboxOptions> options, TimeProvider time) : InboxPage(functions, options, time)
{
    public const int PageSize = 20;

    public static IReadOnlyList<InboxList> Lists { get; } =
    [
        // A referral on hold is still waiting for the therapist's answer: it stays with the new ones.
        new("new", "New", ["requested", "on-hold"]),
        new("active", "Active", ["accepted", "in-progress"]),
        new("closed", "Closed", ["rejected", "cancelled", "completed"]),
    ];

    public InboxList List { get; private set; } = Lists[0];

    public IReadOnlyDictionary<string, int?> Counts { get; private set; } = new Dictionary<string, int?>();

    public IReadOnlyList<ReferralView> Referrals { get; private set; } = [];

    /// <summary>The continuation of the next page, for the "Older referrals" link.</summary>
    public string? Next { get; private set; }

    /// <summary>True when this is not the first page, for the "Newest referrals" link.</summary>
    public bool Paged { get; private set; }

    public DateTimeOffset Now => Time.GetUtcNow();

    public async Task<IActionResult> OnGetAsync(string? list, string? after, CancellationToken cancellationToken)
    {
        var caller = await CallerAsync();
        var owner = "PractitionerRole/" + TherapistId;
        try
        {
            // One call: each list's count and the page of the list asked for (without a choice, the new referrals').
            var chosen = Lists.FirstOrDefault(l => l.Key == list);
            var (counts, results) = await Functions.InboxWithCountsAsync(
                caller, owner, [.. Lists.Select(l => l.Statuses)], (chosen ?? Lists[0]).Statuses, after, PageSize, cancellationToken);
            Counts = Lists.Select((l, i) => (l.Key, counts[i])).ToDictionary(x => x.Key, x => x.Item2, StringComparer.Ordinal);

            // Without a choice: the new referrals when there are some, else the ones under treatment (then asked for
            // apart: a page is read only to be shown).
            List = chosen ?? (Counts["new"] is 0 && Counts["active"] is > 0 ? Lists[1] : Lists[0]);
            Paged = !string.IsNullOrEmpty(after);
            if (List != (chosen ?? Lists[0]))
            {
                results = await Functions.InboxAsync(caller, owner, List.Statuses, after, PageSize, cancellationToken);
            }

            if (results.Status == HttpStatusCode.Unauthorized)
            {
                return SignInAgain();
            }

            Referrals = [.. results.Rows.Where(r => r.Request is not null).Select(r => ReferralView.Of(r.Request!, r.Task, Time.GetUtcNow()))];
            Next = results.Next;
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
        }

        return Page();
    }
}
