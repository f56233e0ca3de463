using ModelDsl.Runtime.Training;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>How <see cref="PoisonedModel"/> spoils a forward pass.</summary>
public enum Poison
{
    /// <summary>Logits times NaN: the loss and every gradient are NaN.</summary>
    NaNLoss,
    /// <summary>Adds 0 * sqrt(w - w) for a weight w: the forward is exact, the backward gives 0 * inf = NaN gradients.</summary>
    NaNGradient,
    /// <summary>Logits times 30: a finite loss spike.</summary>
    Spike,
}

/// <summary>
/// Wraps a model and spoils chosen training-mode forward passes (counted from 1; with one micro-batch
/// per step, forward k is step k of a fresh run). Evaluation forwards (eval mode) are not counted.
/// </summary>
public sealed class PoisonedModel : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> inner;
    private readonly HashSet<int> poisoned;
    private readonly Poison poison;

    public PoisonedModel(nn.Module<Tensor, Tensor> inner, Poison poison, params int[] forwards) : base(nameof(PoisonedModel))
    {
        this.inner = inner;
        this.poison = poison;
        poisoned = [.. forwards];
        RegisterComponents();
    }

    public int TrainingForwards { get; private set; }

    public override Tensor forward(Tensor tokens)
    {
        var logits = inner.forward(tokens);
        if (!training) return logits;
        TrainingForwards++;
        if (!poisoned.Contains(TrainingForwards)) return logits;
        return poison switch
        {
            Poison.NaNLoss => logits * double.NaN,
            Poison.NaNGradient => logits + 0 * (inner.parameters().First() - inner.parameters().First()).sqrt().sum(),
            _ => logits * 30,
        };
    }

    /// <summary>A factory for Trainer.Run that builds the compiled model, wraps it, and hands the wrapper to <paramref name="built"/>.</summary>
    public static TrainableModelFactory Factory(Poison poison, int[] forwards, Action<PoisonedModel> built) => (spec, dtype, device, seed) =>
    {
        var model = Trainer.BuildLanguageModel(spec, dtype, device, seed);
        var wrapper = new PoisonedModel(model.Module, poison, forwards);
        built(wrapper);
        return model with { Module = wrapper };
    };
}
