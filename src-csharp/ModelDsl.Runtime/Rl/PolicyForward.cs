using static TorchSharp.torch;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Rl;

/// <summary>
/// One teacher-forced forward over prompt + completion for rows of a rollout: the log-probabilities of
/// the sampled tokens under log softmax(logits / T) and the entropy at each completion position, both
/// [rows, K]. Prompts of different lengths are right-padded (causal attention keeps padding out of every
/// earlier position); completion token k of row i is predicted at position |prompt_i| - 1 + k.
/// </summary>
public static class PolicyForward
{
    public static (Tensor LogProbs, Tensor Entropy) Run(LanguageModel model, RolloutBatch rollout, int start, int count, double temperature,
        bool withEntropy = true)
    {
        using var scope = NewDisposeScope();
        var k = rollout.MaxNewTokens;
        var completions = rollout.Completions.narrow(0, start, count).data<long>().ToArray();
        var promptLengths = Enumerable.Range(start, count).Select(r => rollout.PromptOf(r).Tokens.Length).ToArray();
        var length = promptLengths.Max() + k - 1; // the last completion token is never an input
        var inputs = new long[count * length];
        var positions = new long[count * k];
        for (var i = 0; i < count; i++)
        {
            var prompt = rollout.PromptOf(start + i).Tokens;
            Array.Copy(prompt, 0, inputs, i * length, prompt.Length);
            Array.Copy(completions, i * k, inputs, i * length + prompt.Length, k - 1);
            for (var j = 0; j < k; j++) positions[i * k + j] = prompt.Length - 1 + j;
        }
        var logits = model.forward(tensor(inputs, [count, length], ScalarType.Int64).to(model.Device));
        var vocab = logits.shape[2];
        var index = tensor(positions, [count, k, 1], ScalarType.Int64).to(model.Device).expand(count, k, vocab);
        var completionLogits = logits.gather(1, index);
        var tokens = rollout.Completions.narrow(0, start, count).to(model.Device);
        var logProbs = TokenLogProbs.Of(completionLogits, tokens, temperature);
        var entropy = withEntropy ? TokenLogProbs.Entropy(completionLogits, temperature) : zeros_like(logProbs);
        return (logProbs.MoveToOuterDisposeScope(), entropy.MoveToOuterDisposeScope());
    }
}
