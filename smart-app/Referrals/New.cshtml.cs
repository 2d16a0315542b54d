using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc;
using Referral.Model.Terminology;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Referrals;

/// <summary>
/// The referral form, one page. It works without JavaScript: every choice is a server-rendered control, "Update"
/// re-renders with the suggestions of a newly added diagnosis, and "Review" checks the whole referral with the
/// shared validator before the summary.
/// </summary>
public sealed class NewModel(
    LaunchContexts contexts,
    PatientRecordReader records,
    AppSession session,
    FunctionsApi functions,
    FormChecks checks) : LaunchedPage(contexts, records)
{
    [BindProperty]
    public ReferralInput Input { get; set; } = new();

    public IReadOnlyList<ProblemChoice> ProblemChoices { get; private set; } = [];

    /// <summary>The therapist list (null when the directory could not be read).</summary>
    public TherapistListView? Therapists { get; private set; }

    public IReadOnlyDictionary<Precaution, string> SuggestedPrecautions { get; private set; } = new Dictionary<Precaution, string>();

    public IReadOnlyList<FieldIssue> Issues { get; private set; } = [];

    /// <summary>The codes a typed phrase matched, offered as a choice instead of a silent pick.</summary>
    public IReadOnlyList<Concept> DiagnosisChoices { get; private set; } = [];

    public string? ServiceProblem { get; private set; }

    /// <summary>Today in the prescribing practice's time zone: the validity starts on it.</summary>
    public PracticeDay Today => checks.DayOf(Launch);

    public IEnumerable<string> ErrorsFor(string field) => Issues.Where(i => i.Field == field).Select(i => i.Message);

    public bool HasErrors(string field) => Issues.Any(i => i.Field == field && i.Blocking);

    public async Task<IActionResult> OnGetAsync(string contextId, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        var state = await StateAsync(cancellationToken);
        Input = state.Input;
        await PrepareAsync(cancellationToken);
        return Page();
    }

    /// <summary>Adds the typed diagnosis (and its body sites) and shows the form again: the no-JavaScript path of the type-ahead.</summary>
    public async Task<IActionResult> OnPostUpdateAsync(string contextId, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        var state = await StateAsync(cancellationToken);
        var error = Merge(state);
        await SaveAsync(state with { Input = Input }, cancellationToken);
        if (error is not null)
        {
            Issues = [error];
            await PrepareAsync(cancellationToken);
            return Page();
        }

        return SeeOther($"/context/{Launch.Id}/referral#diagnosis");
    }

    /// <summary>
    /// The therapist list alone, for the form's current diagnoses, precautions, insurance and (when the physician picked
    /// one) therapist: the browser posts them when one of those changes, so the list follows at once, ranked by the same
    /// code as the page. A POST (with the form's antiforgery token), so no diagnosis travels in a URL that a log keeps.
    /// Nothing is saved.
    /// </summary>
    public async Task<IActionResult> OnPostTherapistsAsync(string contextId, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return StatusCode(Response.StatusCode);
        }

        try
        {
            var therapists = await functions.TherapistsAsync(Caller, cancellationToken);
            return Partial("_Therapists", TherapistList.View(therapists, Input, Record, Launch.Id));
        }
        catch (FunctionsUnavailableException)
        {
            return StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
    }

    public async Task<IActionResult> OnPostReviewAsync(string contextId, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        var state = await StateAsync(cancellationToken);
        var error = Merge(state);
        state = state with { Input = Input };
        await SaveAsync(state, cancellationToken);
        var issues = new List<FieldIssue>();
        if (error is not null)
        {
            issues.Add(error);
        }

        if (!ModelState.IsValid)
        {
            issues.AddRange(ModelState.Where(e => e.Value?.Errors.Count > 0).Select(e => FieldOfKey(e.Key)).Distinct().Select(NotReadable));
        }

        IReadOnlyList<PractitionerRole> therapists;
        try
        {
            therapists = await functions.TherapistsAsync(Caller, cancellationToken);
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
            await PrepareAsync(cancellationToken);
            return Page();
        }

        issues.AddRange(checks.Check(state, checks.Build(state, Launch, Record, therapists), Record, therapists));
        if (issues.Any(i => i.Blocking))
        {
            Issues = issues;
            await PrepareAsync(cancellationToken, therapists);
            return Page();
        }

        return SeeOther($"/context/{Launch.Id}/referral/review");
    }

    /// <summary>The posted input, with the typed diagnosis resolved and the sites a newly ticked diagnosis suggests added once.</summary>
    private FieldIssue? Merge(FormState state)
    {
        FieldIssue? error = null;
        if (Input.DiagnosisChoice is { } choice)
        {
            // One of the choices a typed phrase offered: only a code of the value set is taken.
            Input.DiagnosisSearch = MassageConditions.FindIcd10Cm(choice) is null ? choice : null;
            if (Input.DiagnosisSearch is null && !Input.Diagnoses.Contains(choice))
            {
                Input.Diagnoses.Add(choice);
            }

            Input.DiagnosisChoice = null;
        }

        if (!string.IsNullOrWhiteSpace(Input.DiagnosisSearch))
        {
            var result = ReferralForm.ResolveSearch(Input.DiagnosisSearch);
            var code = result.Code;
            DiagnosisChoices = result.Choices;
            if (code is null)
            {
                error = new FieldIssue(nameof(ReferralInput.DiagnosisSearch), result.Error!, true);
            }
            else
            {
                if (!Input.Diagnoses.Contains(code))
                {
                    Input.Diagnoses.Add(code);
                }

                Input.DiagnosisSearch = null;
            }
        }

        ReferralForm.ApplySuggestions(Input, state.Input, ReferralForm.Problems(Record));
        return error;
    }

    /// <summary>The form's fields top to bottom: the error summary lists its errors in this order.</summary>
    private static readonly string[] PageOrder =
    [
        nameof(ReferralInput.DiagnosisSearch), nameof(ReferralInput.Diagnoses), nameof(ReferralInput.Sites), nameof(ReferralInput.Sessions),
        nameof(ReferralInput.FrequencyTimes), nameof(ReferralInput.Minutes), nameof(ReferralInput.ValidityDays), nameof(ReferralInput.Precautions),
        nameof(ReferralInput.Note), nameof(ReferralInput.PatientInstructions), nameof(ReferralInput.CoverageId), nameof(ReferralInput.ClaimNumbers),
        nameof(ReferralInput.Therapist),
    ];

    public static IEnumerable<FieldIssue> InPageOrder(IEnumerable<FieldIssue> issues) =>
        issues.Select((issue, index) => (issue, index))
            .OrderBy(x => Array.IndexOf(PageOrder, x.issue.Field) is var at and >= 0 ? at : PageOrder.Length)
            .ThenBy(x => x.index)
            .Select(x => x.issue);

    /// <summary>The id the summary links an error to: its field's block; an error of the referral as a whole goes to the diagnosis.</summary>
    public static string AnchorOf(string field) =>
        "field-" + (PageOrder.Contains(field, StringComparer.Ordinal) ? field : nameof(ReferralInput.Diagnoses));

    private static string FieldOfKey(string key)
    {
        var field = key.Replace("Input.", "", StringComparison.Ordinal);
        var bracket = field.IndexOf('[', StringComparison.Ordinal);
        return bracket < 0 ? field : field[..bracket];
    }

    /// <summary>A posted value that could not be read (not a number, not one of the choices), next to its field.</summary>
    private static FieldIssue NotReadable(string field) => field switch
    {
        nameof(ReferralInput.Sessions) => new(field, "Number of sessions: enter a whole number.", true),
        nameof(ReferralInput.FrequencyTimes) => new(field, "How often: enter a whole number.", true),
        nameof(ReferralInput.FrequencyUnit) => new(nameof(ReferralInput.FrequencyTimes), "How often: choose a day, a week or a month.", true),
        nameof(ReferralInput.Minutes) => new(field, "Minutes per session: enter a whole number.", true),
        nameof(ReferralInput.ValidityDays) => new(field, "Valid for (days): enter a whole number.", true),
        _ => new(field, "Choose from the options offered.", true),
    };

    private async Task<FormState> StateAsync(CancellationToken cancellationToken)
    {
        var state = await session.GetAsync<FormState>(SessionId, FormState.Key(Launch.Id), cancellationToken);
        if (state is null || state.SentId is not null)
        {
            // A new order: its placer id is made now, once, and every send of this form reuses it.
            state = new FormState { PlacerId = Guid.NewGuid().ToString(), Input = ReferralForm.Initial(Record, Referral.Model.Referrals.ReferralAppContext.TryParse(Launch.AppContext)?.Diagnosis) };
            await SaveAsync(state, cancellationToken);
        }

        return state;
    }

    private Task SaveAsync(FormState state, CancellationToken cancellationToken) =>
        session.SetAsync(SessionId, FormState.Key(Launch.Id), state, AppSession.IdleTimeout, cancellationToken, sliding: true);

    private async Task PrepareAsync(CancellationToken cancellationToken, IReadOnlyList<PractitionerRole>? therapists = null)
    {
        ProblemChoices = ReferralForm.Problems(Record);
        SuggestedPrecautions = RecordPrecautions.Find(Record.Conditions, Record.Medications);
        try
        {
            therapists ??= await functions.TherapistsAsync(Caller, cancellationToken);
            Therapists = TherapistList.View(therapists, Input, Record, Launch.Id);
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
        }
    }
}
