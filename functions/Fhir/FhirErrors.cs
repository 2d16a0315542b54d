using System.Globalization;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Diagnostics;
using Referral.Functions.Storage;

namespace Referral.Functions.Fhir;

/// <summary>
/// Every error of the API, including those raised before an endpoint runs (no or bad token, unknown route,
/// wrong method, a body too large), answers as an OperationOutcome; an unexpected fault says nothing of its cause.
/// Storage that cannot be reached is a 503 with <c>Retry-After</c> (code <c>transient</c>), saying what a retry does.
/// </summary>
public static partial class FhirErrors
{
    /// <summary>
    /// What a client may do when storage failed mid-request. A write may have been stored before the failure (the
    /// answer was lost, not the write); sending the very same request again is safe because writes are idempotent on
    /// their keys: a referral on its placer identifier, a session on its idempotency key. Changes guarded by
    /// <c>If-Match</c> answer 412 when they were applied, so a reread shows whether they were.
    /// </summary>
    public const string UnavailableText =
        "The referral store could not be reached just now; nothing was lost. Send the same request again in a few seconds: " +
        "a referral sent again with the same placer identifier (ServiceRequest.identifier) is stored once and answered with the original, " +
        "and a session sent again with the same Idempotency-Key (or the same body) is recorded once. " +
        "For other changes, read the resource again first if you sent If-Match: a change that was applied answers 412.";

    public static IApplicationBuilder UseFhirErrors(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(handler => handler.Run(async context =>
        {
            var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            if (StorageFaults.IsUnavailable(error))
            {
                // The exception's text may name a table key (a patient's or a referral's id): only its type is logged.
                LogStorageUnavailable(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(FhirErrors)), context.Request.Method,
                    context.GetEndpoint()?.DisplayName ?? "(no endpoint)", error!.GetType().Name, context.TraceIdentifier);
                context.Response.Headers.RetryAfter = ((int)StorageFaults.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                await Outcome.Error(StatusCodes.Status503ServiceUnavailable, OperationOutcome.IssueType.Transient, UnavailableText).ExecuteAsync(context);
                return;
            }

            var result = error is BadHttpRequestException bad
                ? Outcome.Error(bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? OperationOutcome.IssueType.TooLong : OperationOutcome.IssueType.Invalid,
                    "The request could not be read.")
                : Outcome.Error(StatusCodes.Status500InternalServerError, OperationOutcome.IssueType.Exception,
                    $"The server could not complete the request. Reference: {context.TraceIdentifier}");
            await result.ExecuteAsync(context);
        }));

        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            if (http.Response.HasStarted || http.Response.ContentLength is > 0 || http.Response.ContentType is not null)
            {
                return;
            }

            var status = http.Response.StatusCode;
            var (code, text) = status switch
            {
                StatusCodes.Status401Unauthorized => (OperationOutcome.IssueType.Login, "A valid bearer token is required."),
                StatusCodes.Status403Forbidden => (OperationOutcome.IssueType.Forbidden, "This token does not allow that request."),
                StatusCodes.Status404NotFound => (OperationOutcome.IssueType.NotFound, "There is nothing at this address."),
                StatusCodes.Status405MethodNotAllowed => (OperationOutcome.IssueType.NotSupported, $"{http.Request.Method} is not supported here."),
                StatusCodes.Status415UnsupportedMediaType => (OperationOutcome.IssueType.NotSupported, "Send application/fhir+json."),
                _ => (OperationOutcome.IssueType.Processing, "The request could not be completed."),
            };
            await Outcome.Error(status, code, text).ExecuteAsync(http);
        });
        return app;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage could not be reached for {Method} {Endpoint} ({Exception}); answered 503. Reference: {TraceId}")]
    private static partial void LogStorageUnavailable(ILogger logger, string method, string endpoint, string exception, string traceId);
}
