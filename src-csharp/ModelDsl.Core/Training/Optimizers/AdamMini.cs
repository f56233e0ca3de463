using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>Adam-mini (Zhang et al. 2024): Adam whose second moment is one scalar per block, the
/// mean of g^2 over the block. Blocks: one per attention head for the query and key rows, one per
/// output row for value, output and feed-forward matrices, the embedding and the head, one per
/// tensor for norms and biases.</summary>
[Kind("adamMini")]
public sealed record AdamMini : OptimizerSpec
{
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double Eps { get; init; } = 1e-8;

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.AdamMoments(Beta1, Beta2, Eps, path);
    }
}
