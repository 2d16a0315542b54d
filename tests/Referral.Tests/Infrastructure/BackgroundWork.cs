using Azure.Storage.Queues;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// Tests of the queue- and timer-triggered functions run one at a time against an Azurite of their own: a queue is
/// shared by everyone who polls it, and a timer reads every therapist's partition, so no other test's data or
/// trigger runner may be in the way.
/// </summary>
[CollectionDefinition(nameof(BackgroundWork), DisableParallelization = true)]
public sealed class BackgroundWork : ICollectionFixture<BackgroundWork.OwnAzurite>
{
    public sealed class OwnAzurite : IAsyncLifetime
    {
        public AzuriteFixture Azurite { get; } = new();

        public ValueTask InitializeAsync() => Azurite.InitializeAsync();

        public ValueTask DisposeAsync() => Azurite.DisposeAsync();

        /// <summary>A queue of this Azurite, its messages base64 as the apps write them.</summary>
        public QueueClient Queue(string name) =>
            new(Azurite.ConnectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });

        /// <summary>
        /// The visible messages of queue <paramref name="name"/> (none where it does not exist) that name one of
        /// <paramref name="ids"/>: the collection's tests share the queues, so each looks at its own.
        /// </summary>
        public async Task<List<string>> MessagesNamingAsync(string name, params string[] ids)
        {
            var queue = Queue(name);
            var cancellationToken = TestContext.Current.CancellationToken;
            return await queue.ExistsAsync(cancellationToken)
                ? [.. (await queue.PeekMessagesAsync(32, cancellationToken)).Value.Select(m => m.Body.ToString()).Where(body => ids.Any(id => body.Contains(id, StringComparison.Ordinal)))]
                : [];
        }

        /// <summary>
        /// Empties every queue, for a test that leaves retry copies behind (an EHR still failing when it ends): the next
        /// test's runner would otherwise take them up, against an EHR that is gone.
        /// </summary>
        public async Task ClearQueuesAsync(CancellationToken cancellationToken)
        {
            var service = new QueueServiceClient(Azurite.ConnectionString);
            await foreach (var queue in service.GetQueuesAsync(cancellationToken: cancellationToken))
            {
                await service.GetQueueClient(queue.Name).ClearMessagesAsync(cancellationToken);
            }
        }
    }
}
