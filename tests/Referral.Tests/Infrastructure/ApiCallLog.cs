using System.Collections.Concurrent;
using Referral.Model.Fhir;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// What the smart-app asks of the functions API, recorded on the wire by <see cref="Recording"/> (a pass-through put in
/// front of the API's handler): each call as "METHOD path?query", each entry of a FHIR batch among them as
/// "batch: METHOD url", and each distinct bearer token the calls carried.
/// </summary>
public sealed class ApiCallLog
{
    public ConcurrentQueue<string> Calls { get; } = new();

    public ConcurrentQueue<string> BatchEntries { get; } = new();

    public ConcurrentDictionary<string, bool> Tokens { get; } = new(StringComparer.Ordinal);

    /// <summary>A handler that records each request here, then passes it to <paramref name="inner"/>.</summary>
    public DelegatingHandler Recording(HttpMessageHandler inner) => new Recorder(this, inner);

    private sealed class Recorder(ApiCallLog log, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            log.Calls.Enqueue($"{request.Method} {request.RequestUri?.PathAndQuery}");
            if (request.Headers.Authorization?.Parameter is { } token)
            {
                log.Tokens.TryAdd(token, true);
            }

            if (request.Content is not null && request.RequestUri?.AbsolutePath == "/api/fhir"
                && FhirJson.TryParse<Hl7.Fhir.Model.Bundle>(await request.Content.ReadAsStringAsync(cancellationToken), out var batch, out _))
            {
                foreach (var entry in batch!.Entry)
                {
                    log.BatchEntries.Enqueue($"batch: {entry.Request!.Method} {entry.Request.Url}");
                }
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
