using System.Globalization;
using Microsoft.Playwright;

namespace Referral.Tests.Browser;

/// <summary>What a therapist does in the inbox, as the browser tests drive it.</summary>
internal static class InboxPages
{
    /// <summary>Opens <paramref name="url"/> signed out, signs in at the sandbox as the therapist, and lands back on it.</summary>
    public static async Task<IResponse?> SignInAsync(IPage page, string url, string therapistName)
    {
        await page.GotoAsync(url);
        await page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to the therapist inbox" }).WaitForAsync();
        await page.GetByLabel(therapistName).CheckAsync();
        var landed = page.WaitForResponseAsync(r => r.Url == url && r.Request.Method == "GET");
        await page.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        var response = await landed;
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).WaitForAsync();
        return response;
    }

    /// <summary>
    /// From the referral's page: "Record session", the form filled (start typed in <paramref name="zone"/>, every
    /// prescribed site, one technique, the pain scores, a subjective note) and, unless <paramref name="beforeSaving"/>
    /// says otherwise first, "Save session".
    /// </summary>
    public static async Task RecordSessionAsync(
        IPage page, DateTimeOffset start, TimeZoneInfo zone, string technique, int painBefore, int painAfter, int minutes, string subjective,
        Func<Task>? beforeSaving = null)
    {
        await page.GetByRole(AriaRole.Link, new() { Name = "Record session" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save session" }).WaitForAsync();
        var local = TimeZoneInfo.ConvertTime(start, zone);
        await page.GetByLabel("Date").FillAsync(local.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        await page.GetByLabel("Start time").FillAsync(local.ToString("HH:mm", CultureInfo.InvariantCulture));
        await page.GetByLabel("Minutes").FillAsync(minutes.ToString(CultureInfo.InvariantCulture));
        foreach (var site in await page.Locator("input[name='Input.Sites']").AllAsync())
        {
            await site.CheckAsync();
        }

        await page.GetByLabel(technique).CheckAsync();
        await page.GetByLabel("Pain before the session").FillAsync(painBefore.ToString(CultureInfo.InvariantCulture));
        await page.GetByLabel("Pain after the session").FillAsync(painAfter.ToString(CultureInfo.InvariantCulture));
        await page.GetByLabel("Subjective: what the patient reports").FillAsync(subjective);
        if (beforeSaving is not null)
        {
            await beforeSaving();
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Save session" }).ClickAsync();
    }
}
