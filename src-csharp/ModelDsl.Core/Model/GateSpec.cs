using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Model;

/// <summary>Where in attention the gate acts (Qiu et al. 2025, arXiv 2505.06708, Fig. 1).</summary>
public enum GatePosition
{
    /// <summary>On the SDPA output of each head, before the output projection (the paper's winner).</summary>
    G1,
    /// <summary>On the values, after the value projection.</summary>
    G2,
    /// <summary>On the keys, after the key projection.</summary>
    G3,
    /// <summary>On the queries, after the query projection.</summary>
    G4,
    /// <summary>On the attention output, after the output projection.</summary>
    G5,
}

/// <summary>How many gate scores: one per element of the gated tensor, or one per head.</summary>
public enum GateGranularity { Elementwise, Headwise }

/// <summary>How the gate combines with the gated tensor Y: Y * act(score) or Y + act(score).</summary>
public enum GateCombination { Multiplicative, Additive }

public enum GateActivation { Sigmoid, Silu }

/// <summary>
/// A gate Y' = Y * act(X W_theta) (or Y + act(X W_theta)), X the normalised block input
/// (Qiu et al. 2025, §2). Defaults are the paper's best configuration: after SDPA (G1),
/// elementwise, head-specific, multiplicative, sigmoid. The projection has no bias, as in the
/// paper's formula (also when the attention's projections have biases). SharedAcrossHeads: one set
/// of scores (head dimension wide, or one scalar when headwise) is used by every head. At G5 the gated tensor [B, T, width] has no heads, so G5 must
/// be elementwise and not shared: one score per output element.
/// </summary>
public sealed record GateSpec
{
    public GatePosition Position { get; init; } = GatePosition.G1;
    public GateGranularity Granularity { get; init; } = GateGranularity.Elementwise;
    public GateActivation Activation { get; init; } = GateActivation.Sigmoid;
    public GateCombination Combination { get; init; } = GateCombination.Multiplicative;
    /// <summary>One set of gate scores for every head instead of one per head.</summary>
    public bool SharedAcrossHeads { get; init; }

    public void Validate(Validator v, string path)
    {
        v.Require(Enum.IsDefined(Position), $"{path}.position", $"{Position} is not a known gate position (G1..G5)");
        v.Require(Enum.IsDefined(Granularity), $"{path}.granularity", $"{Granularity} is not a known gate granularity");
        v.Require(Enum.IsDefined(Activation), $"{path}.activation", $"{Activation} is not a known gate activation");
        v.Require(Enum.IsDefined(Combination), $"{path}.combination", $"{Combination} is not a known gate combination");
        if (Position == GatePosition.G5)
        {
            v.Require(Granularity == GateGranularity.Elementwise, $"{path}.granularity",
                "a G5 gate acts after the output projection, where there are no heads: it must be elementwise");
            v.Require(!SharedAcrossHeads, $"{path}.sharedAcrossHeads",
                "a G5 gate acts after the output projection, where there are no heads to share scores across");
        }
    }
}
