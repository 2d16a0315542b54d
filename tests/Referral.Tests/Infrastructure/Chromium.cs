using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium driven by Playwright: never a browser download. The flags keep it off the
/// network it cannot reach here (background services, component updates, sync).
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    private IPlaywright? playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"Chromium was not found at {ExecutablePath}. The test command installs it (apt-get install chromium); set CHROMIUM_PATH to use another.");
        }

        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        playwright?.Dispose();
    }

    /// <summary>Saves a full-page screenshot where the test run keeps its artifacts, and returns the file.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        var file = Path.Combine(Repository.ArtifactsDirectory("screenshots"), $"{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        return file;
    }

    /// <summary>
    /// Downloads what clicking <paramref name="link"/> on <paramref name="page"/> (or a frame of it) saves, kept with the
    /// artifacts as <paramref name="name"/>, with a picture of its first page beside it when it is a PDF
    /// (poppler's <c>pdftoppm</c>, which the test command installs); returns the file's bytes.
    /// </summary>
    public static async Task<byte[]> DownloadAsync(IPage page, ILocator link, string name)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentNullException.ThrowIfNull(link);
        var download = await page.RunAndWaitForDownloadAsync(() => link.ClickAsync());
        var file = Path.Combine(Repository.ArtifactsDirectory("downloads"), name);
        await download.SaveAsAsync(file);
        if (file.EndsWith(".pdf", StringComparison.Ordinal))
        {
            await PdfFirstPageAsync(file, Path.Combine(Repository.ArtifactsDirectory("screenshots"), Path.GetFileNameWithoutExtension(name)));
        }

        return await File.ReadAllBytesAsync(file);
    }

    private static async Task PdfFirstPageAsync(string pdf, string pngWithoutExtension)
    {
        var start = new System.Diagnostics.ProcessStartInfo("pdftoppm") { RedirectStandardError = true };
        foreach (var argument in new[] { "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", pdf, pngWithoutExtension })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)
            ?? throw new InvalidOperationException("pdftoppm did not start: the test command installs poppler-utils.");
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"pdftoppm could not draw the first page of {pdf}: {errors}");
    }

    /// <summary>An axe-core scan of the page as it is: no serious or critical violation, each named if there are.</summary>
    public static async Task AssertNoSeriousViolationsAsync(IPage page)
    {
        ArgumentNullException.ThrowIfNull(page);
        var result = await page.RunAxe();
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, $"{page.Url}:\n" + string.Join("\n", serious.Select(v => $"{v.Id} ({v.Impact}): {v.Help} ({string.Join(", ", v.Nodes.Select(n => n.Html))})")));
    }

    /// <summary>
    /// Opens <paramref name="url"/> in its own page of <paramref name="context"/> (so the same session), keeps a
    /// full-page screenshot and scans it with axe; for pages shown inside the EHR's frame, which axe cannot scan there.
    /// </summary>
    public static async Task ScreenshotAndScanAsync(IBrowserContext context, string url, string name)
    {
        ArgumentNullException.ThrowIfNull(context);
        var page = await context.NewPageAsync();
        await page.GotoAsync(url);
        await ScreenshotAsync(page, name);
        await AssertNoSeriousViolationsAsync(page);
        await page.CloseAsync();
    }
}
