using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Diagnostics;

namespace Referral.Functions.Fhir;

/// <summary>
/// Every error of the API, including those raised before an endpoint runs (no or bad token, unknown route,
/// wrong method, a body too large), answers as an OperationOutcome; an unexpected fault says nothing of its cause.
/// </summary>
public static class FhirErrors
{
    public static IApplicationBuilder UseFhirErrors(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(handler => handler.Run(async context =>
        {
            var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
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
}
