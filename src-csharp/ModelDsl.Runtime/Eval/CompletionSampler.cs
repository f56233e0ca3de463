using ModelDsl.Core.Generation;
using ModelDsl.Runtime.Tasks;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Eval;

/// <summary>
/// Draws n completions per problem with <see cref="ModelDsl.Runtime.Generation.Generator.Generate"/>
/// and scores each with the task: verdict (<see cref="ITask.Verify"/>), final answer
/// (<see cref="FinalAnswers"/>) and the summed log-probability of its tokens under the model's own
/// distribution (softmax of the logits at temperature 1, whatever the sampling temperature).
/// Rows are the problems' prompts repeated n times, problem after problem, grouped by prompt and
/// completion length (no padding) and generated batchSize rows at a time with one generator seeded
/// by <paramref name="seed"/>: the same problems, n, sampling, seed and batch size give the same samples.
/// </summary>
public static class CompletionSampler
{
    public static IReadOnlyList<ProblemSamples> Sample(LanguageModel model, ITask task, IReadOnlyList<Problem> problems, int samples,
        SamplingSpec sampling, long seed, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(task);
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "needs at least one sample per problem");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be at least 1");
        var completions = problems.Select(_ => new long[samples][]).ToArray();
        var logProbabilities = problems.Select(_ => new double[samples]).ToArray();
        using var generator = new torch.Generator(unchecked((ulong)seed), model.Device);
        using var noGrad = no_grad();
        model.eval();
        try
        {
            var rows = problems.SelectMany((problem, index) => Enumerable.Range(0, samples).Select(sample => (problem, index, sample)));
            foreach (var group in rows.GroupBy(r => (r.problem.Prompt.Length, task.CompletionLengthOf(r.problem))))
                foreach (var chunk in group.Chunk(batchSize))
                {
                    using var scope = NewDisposeScope();
                    var (promptLength, completionLength) = group.Key;
                    var prompts = tensor(chunk.SelectMany(r => r.problem.Prompt).ToArray(), [chunk.Length, promptLength], ScalarType.Int64).to(model.Device);
                    var sequences = ModelDsl.Runtime.Generation.Generator.Generate(model, prompts, completionLength, sampling, generator);
                    var scores = CompletionLogProbabilities(model, sequences, promptLength).to(CPU).data<double>().ToArray();
                    var tokens = sequences.to(CPU);
                    for (var row = 0; row < chunk.Length; row++)
                    {
                        var (_, index, sample) = chunk[row];
                        completions[index][sample] = tokens[row].slice(0, promptLength, promptLength + completionLength, 1).data<long>().ToArray();
                        logProbabilities[index][sample] = scores[row];
                    }
                }
        }
        finally
        {
            model.train();
        }
        return problems.Select((problem, i) => new ProblemSamples(problem, completions[i],
            completions[i].Select(c => task.Verify(problem, c)).ToArray(),
            completions[i].Select(c => FinalAnswers.Of(task, problem, c)).ToArray(),
            logProbabilities[i])).ToList();
    }

    /// <summary>
    /// sum_{t >= P} log p(x_t | x_&lt;t) for sequences [B, P + N]: one forward pass over all but the
    /// last token; float64 [B] (zeros when N = 0).
    /// </summary>
    public static Tensor CompletionLogProbabilities(LanguageModel model, Tensor sequences, int promptLength)
    {
        var total = (int)sequences.shape[1];
        if (total == promptLength) return zeros([sequences.shape[0]], ScalarType.Float64, sequences.device);
        using var scope = NewDisposeScope();
        var logits = model.forward(sequences.narrow(1, 0, total - 1));
        var logProbabilities = logits.narrow(1, promptLength - 1, total - promptLength).to(ScalarType.Float64).log_softmax(-1);
        var targets = sequences.narrow(1, promptLength, total - promptLength).unsqueeze(-1);
        return logProbabilities.gather(-1, targets).squeeze(-1).sum(1).MoveToOuterDisposeScope();
    }
}
