using Microsoft.Playwright;
using Referral.Tests.Infrastructure;

namespace SandboxEhr.Tests.Infrastructure;

/// <summary>An axe-core scan of a page as it is (DESIGN.md §7): no violations, each named if there are.</summary>
public static class Accessibility
{
    public static async Task AssertNoViolationsAsync(IPage page)
    {
        var violations = await Chromium.ViolationsAsync(page);
        Assert.True(violations.Count == 0, $"{page.Url}:\n" + string.Join("\n", violations));
    }
}
