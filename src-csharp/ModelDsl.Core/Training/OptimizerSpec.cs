using System.Text.Json.Serialization;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>An optimizer with its hyperparameters. Each optimizer is one subclass; the peak
/// learning rate is scaled by the schedule at every step.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(AdamW), "adamW")]
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
public sealed record AdamW : OptimizerSpec
{
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double Eps { get; init; } = 1e-8;

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.Fraction(Beta1, $"{path}.beta1", allowOne: false);
        v.Fraction(Beta2, $"{path}.beta2", allowOne: false);
        v.Positive(Eps, $"{path}.eps");
    }
}
