using ModelDsl.Core.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tasks;

/// <summary>
/// One micro-batch of next-token prediction on CPU: Inputs and Targets are int64 [B, T] (Targets
/// are the inputs shifted left by one), LossMask is float32 [B, T] with 1 where the loss counts.
/// </summary>
public sealed record Batch(Tensor Inputs, Tensor Targets, Tensor LossMask) : IDisposable
{
    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
        LossMask.Dispose();
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
    /// <summary>T, the length of Inputs.</summary>
    int SequenceLength { get; }

    Batch TrainBatch(long step, int microIndex, int size);
    Batch ValidationBatch(int index, int size);

    /// <summary>Held-out problems for accuracy; the same count gives the same problems.</summary>
    IReadOnlyList<Problem> EvalProblems(int count);
    /// <summary>Tokens to generate after a prompt to answer a problem.</summary>
    int CompletionLength { get; }
    /// <summary>True when the completion (generated tokens after the prompt) answers the problem.</summary>
    bool Verify(Problem problem, ReadOnlySpan<long> completion);
}
