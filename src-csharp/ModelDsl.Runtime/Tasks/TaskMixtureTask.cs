using System.Runtime.CompilerServices;
using ModelDsl.Core.Tasks;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Tasks;

/// <summary>
/// A weighted mixture of tasks (see <see cref="TaskMixture"/>). Each sequence's domain is drawn
/// with probability proportional to the weights from a stream of (seed, step, micro-batch); the rows
/// of one domain come from that component's own batch of the same coordinates, so the mixture is as
/// deterministic as its components. Rows are right-padded with token 0 outside the loss (causal
/// attention never looks right, so padding changes no counted prediction). Batches carry Domains.
/// </summary>
[Implements(typeof(TaskMixture))]
public sealed class TaskMixtureTask : ITask
{
    private const long DomainStream = 11, ValidationDomainStream = 12, EvalDomainStream = 13, ComponentSeedStream = 14;

    private readonly TaskMixture spec;
    private readonly int seed;
    private readonly double[] cumulative;
    private readonly ConditionalWeakTable<Problem, StrongBox<int>> problemDomains = new();

    public TaskMixtureTask(TaskMixture spec, int seed)
    {
        spec.EnsureValid();
        this.spec = spec;
        this.seed = seed;
        Components = spec.Components.Select((c, i) => TaskFactory.Create(c.Task, SeededRandom.Hash(seed, ComponentSeedStream, i))).ToArray();
        var total = spec.Components.Sum(c => c.Weight);
        var running = 0.0;
        cumulative = spec.Components.Select(c => running += c.Weight / total).ToArray();
    }

    public TaskSpec Spec => spec;
    public IReadOnlyList<ITask> Components { get; }
    public IReadOnlyList<string> Domains => spec.Components.Select(c => c.Domain).ToList();
    public int VocabularySize => Components.Max(c => c.VocabularySize);
    public int SequenceLength => Components.Max(c => c.SequenceLength);
    public int EvalSequenceLength => Components.Max(c => c.EvalSequenceLength);
    public int CompletionLength => Components.Max(c => c.CompletionLength);

    /// <summary>The domain index a uniform draw in [0, 1) falls into.</summary>
    public int DomainFor(double uniform)
    {
        for (var i = 0; i < cumulative.Length - 1; i++)
            if (uniform < cumulative[i]) return i;
        return cumulative.Length - 1;
    }

    public Batch TrainBatch(long step, int microIndex, int size) =>
        Mix(SeededRandom.For(seed, DomainStream, step, microIndex), size, SequenceLength,
            (component, count) => component.TrainBatch(step, microIndex, count),
            oneDomain: spec.Grouping == MixtureGrouping.PerMicroBatch);

    public Batch ValidationBatch(int index, int size) =>
        Mix(SeededRandom.For(seed, ValidationDomainStream, index), size, EvalSequenceLength,
            (component, count) => component.ValidationBatch(index, count));

    public IReadOnlyList<Problem> EvalProblems(int count)
    {
        var random = SeededRandom.For(seed, EvalDomainStream);
        var domains = Enumerable.Range(0, count).Select(_ => DomainFor(random.NextDouble())).ToArray();
        var queues = Components.Select((c, i) => new Queue<Problem>(c.EvalProblems(domains.Count(d => d == i)))).ToArray();
        var problems = new Problem[count];
        for (var i = 0; i < count; i++)
        {
            problems[i] = queues[domains[i]].Dequeue();
            problemDomains.AddOrUpdate(problems[i], new StrongBox<int>(domains[i]));
        }
        return problems;
    }

    /// <summary>The domain index of a problem returned by <see cref="EvalProblems"/>.</summary>
    public int DomainOf(Problem problem) =>
        problemDomains.TryGetValue(problem, out var box) ? box.Value
            : throw new ArgumentException("the problem was not produced by this mixture's EvalProblems");

    public int CompletionLengthOf(Problem problem) => Components[DomainOf(problem)].CompletionLengthOf(problem);

    public bool Verify(Problem problem, ReadOnlySpan<long> completion) => Components[DomainOf(problem)].Verify(problem, completion);

    public bool VerifyFullCompletion(Problem problem, ReadOnlySpan<long> completion) =>
        Components[DomainOf(problem)].VerifyFullCompletion(problem, completion);

    /// <param name="oneDomain">Draw one domain for the whole batch instead of one per sequence.</param>
    private Batch Mix(Random random, int size, int length, Func<ITask, int, Batch> batchOf, bool oneDomain = false)
    {
        var shared = oneDomain ? DomainFor(random.NextDouble()) : -1;
        var domains = Enumerable.Range(0, size).Select(_ => oneDomain ? shared : DomainFor(random.NextDouble())).ToArray();
        var inputs = new long[size * length];
        var targets = new long[size * length];
        var mask = new float[size * length];
        var padding = Enumerable.Repeat(true, size * length).ToArray();
        for (var d = 0; d < Components.Count; d++)
        {
            var rows = Enumerable.Range(0, size).Where(b => domains[b] == d).ToArray();
            if (rows.Length == 0) continue;
            using var part = batchOf(Components[d], rows.Length);
            var width = (int)part.Inputs.shape[1];
            if (width > length)
                throw new InvalidOperationException($"domain '{spec.Components[d].Domain}' made sequences of {width} tokens, longer than the mixture's {length}");
            var partInputs = part.Inputs.data<long>().ToArray();
            var partTargets = part.Targets.data<long>().ToArray();
            var partMask = part.LossMask.data<float>().ToArray();
            for (var r = 0; r < rows.Length; r++)
            {
                Array.Copy(partInputs, r * width, inputs, rows[r] * length, width);
                Array.Copy(partTargets, r * width, targets, rows[r] * length, width);
                Array.Copy(partMask, r * width, mask, rows[r] * length, width);
                Array.Fill(padding, false, rows[r] * length, width);
            }
        }
        return new Batch(
            tensor(inputs, [size, length], ScalarType.Int64),
            tensor(targets, [size, length], ScalarType.Int64),
            tensor(mask, [size, length], ScalarType.Float32),
            tensor(domains.Select(d => (long)d).ToArray(), [size], ScalarType.Int64),
            padding.Any(p => p) ? tensor(padding, [size, length]) : null);
    }
}
