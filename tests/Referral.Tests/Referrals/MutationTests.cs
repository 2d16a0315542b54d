using System.Globalization;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Terminology;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Referrals;

/// <summary>
/// Property-style hostile input (DESIGN.md §7): from a fixed seed, hundreds of mutations of a valid referral and of each
/// operation's Parameters (drop, duplicate, retype, out-of-range numbers, control characters, markup, foreign-base
/// references, unreferenced contained resources), each posted through the real pipeline. Each answer must be a 4xx with an
/// OperationOutcome, or a stored resource that passes the project's validator, its FHIR package's profile (Firely's validator), FHIR's core rules (FhirSpec) and the rules of
/// every input; never a 5xx.
/// Foreign-base references are held only to that same rule: whether they are refused is the reference check's business.
/// </summary>
public sealed class MutationTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private const int Seed = 20_130_013;
    private const int ReferralMutations = 320;
    private const int MutationsPerOperation = 40;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public enum Kind
    {
        Drop,
        Duplicate,
        StringForValue,
        ObjectForString,
        OutOfRange,
        ControlCharacter,
        Markup,
        ForeignReference,
        UnreferencedContained,
    }

    private static readonly string[] Controls = ["\u0000", "\u0007", "\u001B", "\u001F", "\b", "\u000B"];
    private static readonly string[] Markups = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<!-- x -->", "</textarea><b>"];
    private static readonly JsonNode[] OutOfRangeNumbers = [-1, 0, 53, 400, 2_147_483_648L, -99_999, 0.5m, 1e30];

    [Fact]
    public async Task Mutated_referrals_are_refused_with_an_OperationOutcome_or_stored_valid_and_never_a_5xx()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        using var physician = scenario.AsPhysician();
        var validator = new ReferralValidator(scenario.Time);
        var failures = new List<string>();
        var answered = new int[6];

        await Parallel.ForEachAsync(Enumerable.Range(0, ReferralMutations), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Ct }, async (i, ct) =>
        {
            var draft = scenario.Draft(placerId: $"mutation-{i.ToString(CultureInfo.InvariantCulture)}");
            var (body, description) = Mutate(Json(draft, scenario.WrittenAt(draft)), new Random(Seed + i), isReferral: true);
            using var response = await physician.PostAsync(Url("/api/fhir/ServiceRequest"), Body(body), ct);
            var problem = await JudgeAsync(response, resource => resource is ServiceRequest request
                ? [.. validator.Validate(request, reference => TrainingOf(scenario, reference)).Problems().Where(p => p.Severity == OperationOutcome.IssueSeverity.Error).Select(Describe),
                    .. InputRules.Check(request).Select(Describe),
                    .. FhirSpec.Errors(request),
                    .. global::Referral.Functions.Conformance.ReferralPackage.Instance.Check(request, MedicalMassageServiceRequest.Profile).Select(Describe),
                    .. request.Meta?.Profile.SequenceEqual([MedicalMassageServiceRequest.Profile]) == true ? [] : new[] { "meta.profile is not ours alone" }]
                : [$"answered a {resource.TypeName}"]);
            lock (failures)
            {
                answered[(int)response.StatusCode / 100]++;
                if (problem is not null)
                {
                    failures.Add($"#{i} {description}: {problem}");
                }
            }
        });

        Assert.True(failures.Count == 0, $"{failures.Count} of {ReferralMutations} mutations failed:\n{string.Join('\n', failures)}");
        Assert.True(answered[4] > ReferralMutations / 2, $"Most mutations should be refused; 2xx {answered[2]}, 4xx {answered[4]}.");
    }

    [Fact]
    public async Task Mutated_operation_Parameters_are_refused_with_an_OperationOutcome_or_applied_valid_and_never_a_5xx()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var accepted = await scenario.SubmitAndAcceptAsync();
        var (submitted, requested) = await scenario.SubmitAsync(scenario.DraftValidSinceLastWeek());
        Assert.True(submitted.IsSuccessStatusCode);
        using var therapist = scenario.AsTherapist();
        var discharge = new Parameters();
        discharge.Add("outcome", new FhirString("Pain down from 6 to 2; sleeping through the night."));
        discharge.Add("recommendations", new FhirString("Nerve glides daily."));
        var renewal = Reason("Numbness returns after two days.");
        renewal.Add("sessions", new Integer(4));
        var note = new Parameters();
        note.Add("note", new FhirString("Happy to help."));

        // In an order that keeps each Task in a state its operation applies to for as long as it can.
        var operations = new (string Operation, string Task, Parameters Body)[]
        {
            ("accept", requested!.Id!, note),
            ("decline", requested.Id!, Reason("No capacity this month.")),
            ("record-session", accepted, Session(scenario.Time.GetUtcNow().AddHours(-2))),
            ("request-renewal", accepted, renewal),
            ("complete", accepted, discharge),
            ("cancel", accepted, Reason("Patient moved away.")),
        };
        var failures = new List<string>();
        var count = 0;
        foreach (var (operation, task, valid) in operations)
        {
            var json = FhirJson.Serialize(valid);
            for (var i = 0; i < MutationsPerOperation; i++, count++)
            {
                var (body, description) = Mutate(json, new Random(Seed + 100_000 + count), isReferral: false);
                using var response = await therapist.PostAsync(Url($"/api/fhir/Task/{task}/${operation}"), Body(body), Ct);
                if (await JudgeAsync(response, resource => [.. InputRules.Check(resource).Select(Describe), .. FhirSpec.Errors(resource)]) is { } problem)
                {
                    failures.Add($"${operation} #{i} {description}: {problem}");
                }
            }
        }

        Assert.True(count >= 6 * MutationsPerOperation);
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} mutations failed:\n{string.Join('\n', failures)}");
    }

    [Fact]
    public void The_mutations_are_at_least_five_hundred_and_of_every_kind()
    {
        Assert.True(ReferralMutations + (6 * MutationsPerOperation) >= 500);
        var json = Json(ReferralScenario.DraftFactory.Draft());
        var kinds = Enumerable.Range(0, ReferralMutations).Select(i => Mutate(json, new Random(Seed + i), isReferral: true).Description.Split(' ')[0]).ToHashSet();
        Assert.Equal(Enum.GetNames<Kind>().Order(), kinds.Order());
    }

    /// <summary>Null when the answer is a 4xx OperationOutcome or a success whose resource passes <paramref name="check"/>; else what is wrong.</summary>
    private static async Task<string?> JudgeAsync(HttpResponseMessage response, Func<Resource, IReadOnlyList<string>> check)
    {
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync(Ct);
        if (status >= 500)
        {
            return $"{status}: {text}";
        }

        if (!FhirJson.TryParse(text, out var resource, out var parseOutcome))
        {
            return $"{status} with a body that is no FHIR resource ({parseOutcome.Issue.FirstOrDefault()?.Details?.Text}): {text}";
        }

        if (status >= 400)
        {
            return resource is OperationOutcome { Issue.Count: > 0 } outcome && response.Content.Headers.ContentType?.MediaType == "application/fhir+json"
                && outcome.Issue.Any(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)
                ? null
                : $"{status} without an OperationOutcome naming an error: {text}";
        }

        var problems = check(resource!);
        return problems.Count == 0 ? null : $"{status}, stored but failing: {string.Join("; ", problems)}";
    }

    private static string Describe(OperationOutcome.IssueComponent issue) => $"{issue.RuleOf()} at {string.Join(",", issue.Expression)}";

    /// <summary>The training a reference's therapist holds, read as the API reads it (by type and id).</summary>
    private static List<TherapistTraining>? TrainingOf(ReferralScenario scenario, string reference)
    {
        var id = reference.Split('/')[^1];
        return ResourceRef.TypeOf(reference) != "PractitionerRole" ? null
            : id == scenario.Therapist || id == scenario.OtherTherapist ? []
            : id == scenario.MldTherapist ? [TherapistTraining.ManualLymphDrainage]
            : null;
    }

    /// <summary>One mutation of <paramref name="json"/>, chosen by <paramref name="random"/>; the JSON and what was done.</summary>
    public static (string Json, string Description) Mutate(string json, Random random, bool isReferral)
    {
        ArgumentNullException.ThrowIfNull(random);
        var root = JsonNode.Parse(json)!.AsObject();
        var kinds = Enum.GetValues<Kind>().Where(k => isReferral || k != Kind.UnreferencedContained).ToArray();
        var kind = kinds[random.Next(kinds.Length)];
        var slots = Slots(root, "").ToList();
        Slot Pick(Func<Slot, bool> where, Func<Slot, bool>? fallback = null)
        {
            var matching = slots.Where(where).ToList();
            if (matching.Count == 0 && fallback is not null)
            {
                matching = [.. slots.Where(fallback)];
            }

            return matching.Count == 0 ? slots[random.Next(slots.Count)] : matching[random.Next(matching.Count)];
        }

        static bool IsString(Slot s) => s.Value is JsonValue v && v.TryGetValue<string>(out _);
        static bool IsNumber(Slot s) => s.Value is JsonValue v && !v.TryGetValue<string>(out _) && !v.TryGetValue<bool>(out _);

        Slot slot;
        switch (kind)
        {
            case Kind.Drop:
                slot = Pick(s => s.Path != ".resourceType");
                slot.Remove();
                break;
            case Kind.Duplicate:
                slot = Pick(_ => true);
                if (slot.Parent is JsonArray array)
                {
                    array.Insert(slot.Index, slot.Value?.DeepClone());
                }
                else
                {
                    slot.Set(new JsonArray(slot.Value?.DeepClone(), slot.Value?.DeepClone()));
                }

                break;
            case Kind.StringForValue:
                slot = Pick(s => !IsString(s));
                slot.Set(random.Next(2) == 0 ? "not-a-code" : "12");
                break;
            case Kind.ObjectForString:
                slot = Pick(IsString);
                slot.Set(new JsonObject { ["value"] = slot.Value?.DeepClone() });
                break;
            case Kind.OutOfRange:
                slot = Pick(IsNumber, IsString);
                slot.Set(OutOfRangeNumbers[random.Next(OutOfRangeNumbers.Length)].DeepClone());
                break;
            case Kind.ControlCharacter:
                slot = Pick(IsString);
                var text = slot.Value!.GetValue<string>();
                var at = random.Next(text.Length + 1);
                slot.Set(text[..at] + Controls[random.Next(Controls.Length)] + text[at..]);
                break;
            case Kind.Markup:
                slot = Pick(IsString);
                slot.Set(slot.Value!.GetValue<string>() + Markups[random.Next(Markups.Length)]);
                break;
            case Kind.ForeignReference:
                slot = Pick(s => s.Key == "reference" && IsString(s), IsString);
                var reference = slot.Value!.GetValue<string>();
                slot.Set(reference.Contains('/', StringComparison.Ordinal) && !reference.StartsWith("http", StringComparison.Ordinal)
                    ? "https://elsewhere.example/fhir/" + reference
                    : "https://elsewhere.example/fhir/Patient/x");
                break;
            default:
                var contained = root["contained"] as JsonArray ?? [];
                root["contained"] = contained;
                contained.Add(JsonNode.Parse(FhirJson.Serialize(new Patient
                {
                    Id = $"x{random.Next(1000).ToString(CultureInfo.InvariantCulture)}",
                    Name = [new HumanName { Text = random.Next(2) == 0 ? "<script>alert(1)</script>" : "Plain Name" }],
                })));
                slot = new Slot(root, "contained", -1, ".contained");
                break;
        }

        return (root.ToJsonString(), $"{kind} at {slot.Path}");
    }

    private static IEnumerable<Slot> Slots(JsonNode node, string path)
    {
        if (node is JsonObject obj)
        {
            foreach (var (key, value) in obj.ToList())
            {
                var slot = new Slot(obj, key, -1, $"{path}.{key}");
                yield return slot;
                if (value is not null)
                {
                    foreach (var inner in Slots(value, slot.Path))
                    {
                        yield return inner;
                    }
                }
            }
        }
        else if (node is JsonArray array)
        {
            for (var i = 0; i < array.Count; i++)
            {
                var slot = new Slot(array, null, i, $"{path}[{i.ToString(CultureInfo.InvariantCulture)}]");
                yield return slot;
                if (array[i] is { } value)
                {
                    foreach (var inner in Slots(value, slot.Path))
                    {
                        yield return inner;
                    }
                }
            }
        }
    }

    /// <summary>A place in the JSON tree: a property of an object or an item of an array.</summary>
    private sealed record Slot(JsonNode Parent, string? Key, int Index, string Path)
    {
        public JsonNode? Value => Parent is JsonObject obj ? obj[Key!] : ((JsonArray)Parent)[Index];

        public void Set(JsonNode? value)
        {
            if (Parent is JsonObject obj)
            {
                obj[Key!] = value;
            }
            else
            {
                ((JsonArray)Parent)[Index] = value;
            }
        }

        public void Remove()
        {
            if (Parent is JsonObject obj)
            {
                obj.Remove(Key!);
            }
            else
            {
                ((JsonArray)Parent).RemoveAt(Index);
            }
        }
    }
}
