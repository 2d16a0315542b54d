using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace SandboxEhr.Tests.Infrastructure;

/// <summary>An axe-core scan of a page as it is (DESIGN.md §7): no violations, each named if there are.</summary>
public static class Accessibility
{
    public static async Task AssertNoViolationsAsync(IPage page)
    {
        var result = await page.RunAxe();
        Assert.True(
            result.Violations.Length == 0,
            $"{page.Url}:\n" + string.Join("\n", result.Violations.Select(v => $"{v.Id}: {v.Help} ({string.Join(", ", v.Nodes.Select(n => n.Html))})")));
    }
}
