using Deque.AxeCore.Commons;
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

    /// <summary>axe-core as Deque's package bundles it.</summary>
    private static readonly Lazy<string> AxeScript = new(() => new BundledAxeScriptProvider().GetScript());

    /// <summary>
    /// An axe-core scan of the page as it is, its frames with it: every violation, each with its rule, impact, help and
    /// elements. axe is put into every frame that has none yet and let answer its parent whatever the frame's origin,
    /// then run from the top document, so the frames are scanned as parts of the page; only the violations leave the
    /// browser. The same engine and rules as Deque's <c>RunAxe</c>, which also sent every rule's passes and inapplicable
    /// nodes to .NET and took ten times the scan itself (1-3 s a page against 0.05-0.3 s).
    /// </summary>
    public static async Task<IReadOnlyList<AxeViolation>> ViolationsAsync(IPage page)
    {
        ArgumentNullException.ThrowIfNull(page);
        foreach (var frame in page.Frames.Where(f => !f.IsDetached))
        {
            if (!await frame.EvaluateAsync<bool>("() => typeof window.axe === 'object'"))
            {
                await frame.EvaluateAsync(AxeScript.Value);
                await frame.EvaluateAsync("() => axe.configure({ allowedOrigins: ['<unsafe_all_origins>'] })");
            }
        }

        return await page.EvaluateAsync<AxeViolation[]>("""
            async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
                .map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html) }))
            """);
    }

    /// <summary>The scan of <see cref="ViolationsAsync"/>: no serious or critical violation, each named if there are.</summary>
    public static async Task AssertNoSeriousViolationsAsync(IPage page)
    {
        var serious = (await ViolationsAsync(page)).Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, $"{page.Url}:\n" + string.Join("\n", serious));
    }

    /// <summary>One rule's violation as the scan returns it: the rule, its impact, its help text and the offending elements' HTML.</summary>
    public sealed class AxeViolation
    {
        public string Id { get; set; } = "";

        public string Impact { get; set; } = "";

        public string Help { get; set; } = "";

        public string[] Nodes { get; set; } = [];

        public override string ToString() => $"{Id} ({Impact}): {Help} ({string.Join(", ", Nodes)})";
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
