using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>
/// SOAP (Vyas et al. 2024): Adam in the eigenbasis of Shampoo's preconditioners. For each
/// dimension of size at most MaxPreconditionerDim, L_i = EMA of G G^T contracted over the other
/// dimensions (rate ShampooBeta); the basis Q_i is refreshed every PreconditionFrequency steps
/// (one power iteration + QR). Step 1 only initialises. Defaults of the reference implementation.
/// </summary>
[Kind("soap")]
public sealed record Soap : OptimizerSpec
{
    public Soap()
    {
        Lr = 3e-3;
        WeightDecay = 0.01;
    }

    public double Beta1 { get; init; } = 0.95;
    public double Beta2 { get; init; } = 0.95;
    public double ShampooBeta { get; init; } = 0.95;
    public double Eps { get; init; } = 1e-8;
    public int PreconditionFrequency { get; init; } = 10;
    public int MaxPreconditionerDim { get; init; } = 10000;

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.Fraction(Beta1, $"{path}.beta1", allowOne: false);
        v.Fraction(Beta2, $"{path}.beta2", allowOne: false);
        v.Fraction(ShampooBeta, $"{path}.shampooBeta", allowOne: false);
        v.Positive(Eps, $"{path}.eps");
        v.Require(PreconditionFrequency >= 1, $"{path}.preconditionFrequency", $"{PreconditionFrequency} must be at least 1");
        v.Require(MaxPreconditionerDim >= 1, $"{path}.maxPreconditionerDim", $"{MaxPreconditionerDim} must be at least 1");
    }
}
