using Referral.Tests.Infrastructure;

[assembly: AssemblyFixture(typeof(AzuriteFixture))]
