using ModelDsl.Core.Variants;
using System.Text.Json.Serialization;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>
/// An optimizer with its hyperparameters. Each optimizer is one subclass; the peak learning rate
/// is scaled by the schedule at every step. Every optimizer follows one convention (levanter, as
/// used by Wen et al. 2025, "Fantastic Pretraining Optimizers"): optional gradient clipping over
/// the optimizer's clip scope, direction u, u += wd * W on the decayed group, W -= lr_t * u; so
/// weight decay is scaled by the scheduled learning rate.
/// </summary>
public abstract record OptimizerSpec
{
    public double Lr { get; init; } = 1e-3;
    /// <summary>Decoupled weight decay, applied as W -= lr_t * wd * W to the decayed group only
    /// (hidden matrices and the untied head; never norms, embeddings or biases).</summary>
    public double WeightDecay { get; init; } = 0.1;

    public virtual void Validate(Validator v, string path)
    {
        v.Positive(Lr, $"{path}.lr");
        v.NonNegative(WeightDecay, $"{path}.weightDecay");
    }
}

/// <summary>AdamW (Loshchilov and Hutter): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
/// W -= lr_t (mhat / (sqrt(vhat) + eps) + wd W).</summary>
[Kind("adamW")]
public sealed record AdamW : OptimizerSpec
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
