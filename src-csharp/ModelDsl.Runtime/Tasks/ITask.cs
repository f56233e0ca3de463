using ModelDsl.Core.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tasks;

/// <summary>
/// One micro-batch of next-token prediction on CPU: Inputs and Targets are int64 [B, T] (Targets
/// are the inputs shifted left by one, or per-position labels for tagging tasks such as
/// <see cref="PermutationCompositionTask"/>), LossMask is float32 [B, T] with 1 where the loss
/// counts. Domains, when the task has several, is int64 [B]: each sequence's domain index.
/// Padding, when some sequences are shorter than T, is bool [B, T], true at padded positions (which
/// are also outside the loss); layers that keep statistics over tokens (MoE routing) skip them.
/// </summary>
public sealed record Batch(Tensor Inputs, Tensor Targets, Tensor LossMask, Tensor? Domains = null, Tensor? Padding = null) : IDisposable
{
    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
        LossMask.Dispose();
        Domains?.Dispose();
        Padding?.Dispose();
    }
}

/// <summary>A verifiable problem: the prompt to complete and a reference completion.</summary>
public sealed record Problem(long[] Prompt, long[] ReferenceCompletion);

/// <summary>
/// Data behind a <see cref="TaskSpec"/>: training and validation batches plus problems with a
/// verifier. Every method is deterministic in its arguments (and the task's seed), so a resumed run
/// sees exactly the batches an uninterrupted one would.
/// </summary>
public interface ITask
{
    TaskSpec Spec { get; }
    int VocabularySize { get; }
    /// <summary>T, the length of training Inputs.</summary>
    int SequenceLength { get; }
    /// <summary>Length of validation Inputs and the longest prompt plus completion of a problem;
    /// longer than <see cref="SequenceLength"/> when the task tests length generalisation.</summary>
    int EvalSequenceLength => SequenceLength;

    Batch TrainBatch(long step, int microIndex, int size);
    Batch ValidationBatch(int index, int size);

    /// <summary>Held-out problems for accuracy; the same count gives the same problems.</summary>
    IReadOnlyList<Problem> EvalProblems(int count);
    /// <summary>Tokens to generate after a prompt to answer a problem.</summary>
    int CompletionLength { get; }
    /// <summary>Tokens to generate for this problem (tasks mixing several answer lengths override it).</summary>
    int CompletionLengthOf(Problem problem) => CompletionLength;
    /// <summary>True when the completion (generated tokens after the prompt) answers the problem:
    /// the final answer is right, whatever the intermediate (chain-of-thought) tokens are.</summary>
    bool Verify(Problem problem, ReadOnlySpan<long> completion);
    /// <summary>Exact match of the whole reference completion (final answer and every chain-of-thought token).</summary>
    bool VerifyFullCompletion(Problem problem, ReadOnlySpan<long> completion) =>
        completion.Length >= problem.ReferenceCompletion.Length &&
        completion[..problem.ReferenceCompletion.Length].SequenceEqual(problem.ReferenceCompletion);
}
