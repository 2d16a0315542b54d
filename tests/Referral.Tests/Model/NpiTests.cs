using Hl7.Fhir.Model;
using Microsoft.Extensions.Configuration;
using Referral.Functions.Therapists;
using Referral.Model;
using Referral.Model.Referrals;
using SandboxEhr.Data;

namespace Referral.Tests.Model;

/// <summary>NPIs are real identifiers: the check digit is Luhn's over the 80840 prefix and the first nine digits.</summary>
public sealed class NpiTests
{
    [Theory]
    [InlineData("1245789031")]
    [InlineData("1456789019")]
    [InlineData("1673452193")]
    [InlineData("1234567893")]
    public void A_number_whose_last_digit_is_the_check_digit_over_the_80840_prefix_is_an_NPI(string npi) =>
        Assert.True(ContactRules.IsNpi(npi));

    [Theory]
    [InlineData("1245789032")]
    [InlineData("1456789010")]
    [InlineData("2134567893")]
    [InlineData("124578903")]
    [InlineData("12457890311")]
    [InlineData("124578903X")]
    [InlineData(" 124578903")]
    [InlineData("")]
    [InlineData(null)]
    public void A_wrong_check_digit_a_swap_a_wrong_length_or_a_letter_is_not_an_NPI(string? npi) =>
        Assert.False(ContactRules.IsNpi(npi));

    [Fact]
    public void The_NPI_read_from_identifiers_is_the_one_under_the_NPI_system_that_passes_the_check()
    {
        Identifier[] identifiers =
        [
            new("urn:oid:2.16.840.1.113883.4.6", "1456789019"),
            new(Canonicals.Npi, "1456789010"),
            new(Canonicals.Npi, "1456789019"),
        ];

        Assert.Equal("1456789019", ContactRules.NpiOf(identifiers));
        Assert.Null(ContactRules.NpiOf(identifiers.Take(2)));
    }

    [Fact]
    public void Every_NPI_of_the_sandbox_EHR_s_synthetic_people_passes_the_check()
    {
        var practitioners = SyntheticRecords.Create(new DateOnly(2026, 11, 23)).OfType<Practitioner>().ToList();
        var npis = practitioners.SelectMany(p => p.Identifier).Where(i => i.System == Canonicals.Npi).ToList();

        Assert.Equal(practitioners.Count, npis.Count);
        Assert.All(npis, npi => Assert.True(ContactRules.IsNpi(npi.Value), npi.Value));
    }

    [Fact]
    public void Every_seeded_therapist_carries_an_NPI_that_passes_the_check_and_a_licence()
    {
        Assert.All(TherapistSeed.Therapists, role =>
        {
            Assert.NotNull(TherapistDirectory.Npi(role));
            Assert.StartsWith("LMT-", TherapistDirectory.License(role));
        });
    }

    [Fact]
    public async System.Threading.Tasks.Task The_directory_refuses_a_therapist_whose_NPI_fails_the_check()
    {
        var role = (PractitionerRole)TherapistSeed.Therapists[0].DeepCopy();
        role.Identifier[0].Value = "1245789032";
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [Referral.Functions.Storage.StorageAccount.SettingName] = "UseDevelopmentStorage=true" }).Build();
        using var directory = new TherapistDirectory(new Referral.Functions.Storage.StorageAccount(configuration), Referral.Tests.Infrastructure.TestClock.Provider);

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => directory.UpsertAsync(role, TestContext.Current.CancellationToken));

        Assert.Contains("1245789032", refused.Message, StringComparison.Ordinal);
    }
}
