using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Losses;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Eval;

/// <summary>Held-out loss and verified accuracy. Both leave the model in training mode.</summary>
public static class Evaluator
{
    /// <summary>
    /// Mean masked cross-entropy per counted token over validation batches 0 .. batches-1 (each of
    /// <paramref name="batchSize"/> sequences): total masked loss / total masked tokens.
    /// </summary>
    public static double ValidationLoss(nn.Module<Tensor, Tensor> model, ITask task, int batches, int batchSize, Device device)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        model.eval();
        try
        {
            var lossSum = 0.0;
            var tokens = 0.0;
            for (var i = 0; i < batches; i++)
            {
                using var batch = task.ValidationBatch(i, batchSize);
                TokenRange.Check(batch.Inputs, task.VocabularySize, $"validation batch {i} of task {task.Spec.GetType().Name}");
                var logits = model.forward(batch.Inputs.to(device));
                lossSum += MaskedCrossEntropy.Sum(logits, batch.Targets.to(device), batch.LossMask.to(device)).to(ScalarType.Float64).item<double>();
                tokens += batch.LossMask.sum().to(ScalarType.Float64).item<double>();
            }
            if (tokens == 0) throw new InvalidOperationException($"validation batches of task {task.Spec.GetType().Name} count no tokens");
            return lossSum / tokens;
        }
        finally
        {
            model.train();
        }
    }

    /// <summary>
    /// Fraction of the task's first <paramref name="problems"/> held-out problems whose greedy
    /// completion the task verifies; null when the task has no verifiable problems.
    /// </summary>
    public static double? Accuracy(nn.Module<Tensor, Tensor> model, ITask task, int problems, int batchSize, Device device,
        Func<Tensor, int, Tensor> generateGreedy) =>
        Accuracies(model, task, problems, batchSize, device, generateGreedy)?.Answer;

    /// <summary>
    /// Exact-match accuracies of greedy completions on the task's first <paramref name="problems"/>
    /// held-out problems: Answer (the task's verifier: the final answer is right) and FullCompletion
    /// (every reference token, chain of thought included, is reproduced); null when the task has no
    /// verifiable problems.
    /// </summary>
    public static AccuracyResult? Accuracies(nn.Module<Tensor, Tensor> model, ITask task, int problems, int batchSize, Device device,
        Func<Tensor, int, Tensor> generateGreedy)
    {
        if (problems == 0) return null;
        var list = task.EvalProblems(problems);
        if (list.Count == 0) return null;
        var completions = GreedyCompletions(model, task, list, batchSize, device, generateGreedy);
        var answer = 0;
        var full = 0;
        for (var i = 0; i < list.Count; i++)
        {
            if (task.Verify(list[i], completions[i])) answer++;
            if (task.VerifyFullCompletion(list[i], completions[i])) full++;
        }
        return new AccuracyResult((double)answer / list.Count, (double)full / list.Count);
    }

    /// <summary>The greedy completion of each problem (task.CompletionLengthOf(problem) tokens), in order.</summary>
    public static long[][] GreedyCompletions(nn.Module<Tensor, Tensor> model, ITask task, IReadOnlyList<Problem> list, int batchSize,
        Device device, Func<Tensor, int, Tensor> generateGreedy)
    {
        using var noGrad = no_grad();
        model.eval();
        try
        {
            var completions = new long[list.Count][];
            // Prompts are batched by length (and completion length) so that no padding is needed.
            var indexed = list.Select((problem, index) => (problem, index));
            foreach (var group in indexed.GroupBy(p => (p.problem.Prompt.Length, task.CompletionLengthOf(p.problem))))
                foreach (var chunk in group.Chunk(batchSize))
                {
                    using var scope = NewDisposeScope();
                    var (promptLength, completionLength) = group.Key;
                    var prompts = tensor(chunk.SelectMany(p => p.problem.Prompt).ToArray(), [chunk.Length, promptLength], ScalarType.Int64).to(device);
                    var output = generateGreedy(prompts, completionLength).to(CPU);
                    for (var row = 0; row < chunk.Length; row++)
                        completions[chunk[row].index] = output[row].slice(0, promptLength, output.shape[1], 1).data<long>().ToArray();
                }
            return completions;
        }
        finally
        {
            model.train();
        }
    }
}

/// <summary>Exact-match accuracies: of the final answer, and of the whole completion (chain of thought included).</summary>
public sealed record AccuracyResult(double Answer, double FullCompletion);
