using Microsoft.AspNetCore.DataProtection;
using StackExchange.Redis;

namespace Referral.SmartApp.Security;

/// <summary>
/// Where the state every instance must share lives: the app sessions (launch records, tokens, the form), the inbox
/// tickets, the Data Protection keys that encrypt them and sign every cookie and antiforgery token, and the token
/// refreshes' locks (<see cref="SharedGate"/>). With <c>Redis:Configuration</c> set, all of it is in Redis (one
/// application name, so every instance reads every cookie); without, the cache is this process's memory and the keys
/// this machine's, which serves one instance only, and the app says so at start.
/// </summary>
public static partial class SharedState
{
    public const string ConfigurationKey = "Redis:Configuration";

    /// <summary>The Data Protection application name: the same on every instance, so they share one key ring.</summary>
    public const string ApplicationName = "Referral.SmartApp";

    /// <summary>Every key the app writes to Redis starts with this.</summary>
    public const string KeyPrefix = "mmr:";

    public const string DataProtectionKey = KeyPrefix + "data-protection-keys";

    public static IServiceCollection AddSharedState(this IServiceCollection services, IConfiguration configuration)
    {
        var dataProtection = services.AddDataProtection().SetApplicationName(ApplicationName);
        var redis = configuration[ConfigurationKey];
        if (string.IsNullOrWhiteSpace(redis))
        {
            services.AddDistributedMemoryCache();
            services.AddSingleton(new SharedGate(null));
            services.AddHostedService<InMemoryNotice>();
            return services;
        }

        var options = ConfigurationOptions.Parse(redis);
        // Start even while Redis is unreachable; requests that need it fail until it is back, and then succeed.
        options.AbortOnConnectFail = false;
        var connection = new Lazy<ConnectionMultiplexer>(() => ConnectionMultiplexer.Connect(options));
        services.AddStackExchangeRedisCache(cache =>
        {
            cache.ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(connection.Value);
            cache.InstanceName = KeyPrefix;
        });
        dataProtection.PersistKeysToStackExchangeRedis(() => connection.Value.GetDatabase(), DataProtectionKey);
        services.AddSingleton(new SharedGate(() => connection.Value.GetDatabase()));
        return services;
    }

    /// <summary>Says at start that this instance keeps its sessions to itself.</summary>
    private sealed partial class InMemoryNotice(ILogger<InMemoryNotice> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            LogInMemory(logger, ConfigurationKey);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Setting} is not set: sessions, launch records and inbox sign-ins are kept in this instance's memory and its Data Protection keys on this machine. Run one instance only; several instances need Redis.")]
        private static partial void LogInMemory(ILogger logger, string setting);
    }
}
