using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Layers;

/// <summary>
/// Extra training losses that layers produce during a forward pass (e.g. a mixture-of-experts
/// load-balancing loss). Layers add named scalar terms; the training loop adds <see cref="Total"/>
/// to the language-modelling loss and can log each term. Dense layers add nothing.
/// </summary>
public sealed class AuxiliaryLosses
{
    private readonly List<(string Name, Tensor Loss)> terms = [];

    public IReadOnlyList<(string Name, Tensor Loss)> Terms => terms;

    public void Add(string name, Tensor loss)
    {
        if (loss.numel() != 1) throw new ArgumentException($"auxiliary loss '{name}' must be a scalar, got shape [{string.Join(", ", loss.shape)}]");
        terms.Add((name, loss));
    }

    /// <summary>The sum of every term; null when no layer added one.</summary>
    public Tensor? Total() => terms.Count == 0 ? null : terms.Skip(1).Aggregate(terms[0].Loss, (sum, term) => sum.add(term.Loss, One));
}
