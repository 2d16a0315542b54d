namespace Referral.Tests.Infrastructure;

/// <summary>Paths inside the repository, found from the test binaries by walking up to Referral.sln.</summary>
public static class Repository
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Referral.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Referral.sln not found above {AppContext.BaseDirectory}.");
    });

    public static string Root => RootPath.Value;

    public static string PathTo(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>Where tests keep what a person should be able to look at afterwards (screenshots).</summary>
    public static string ArtifactsDirectory(string kind)
    {
        var root = Environment.GetEnvironmentVariable("TEST_ARTIFACTS") is { Length: > 0 } configured
            ? configured
            : PathTo("artifacts", "tests");
        var dir = Path.Combine(root, kind);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
