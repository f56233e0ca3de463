namespace ModelDsl

open ModelDsl.Core.Model

/// How attention learns token order: the IR's PositionSpec kinds (Rope, NoPosition, PathPosition).
[<RequireQualifiedAccess>]
module Position =
    /// Rotary position embedding (Su et al. 2021) with the IR's default base (10000).
    let rope: PositionSpec = Rope()

    /// RoPE with an explicit base, e.g. 500000 for long contexts (Llama 3).
    let ropeTheta (theta: float) : PositionSpec = Rope(Theta = theta)

    /// No position encoding (NoPE): the causal mask alone breaks symmetry.
    let noPosition: PositionSpec = NoPosition()

    /// PaTH (arXiv 2505.16381) with the paper's layer: rank-32 w projection, short convolution of
    /// kernel 3, no forget gate. Other settings: `PathPosition(LowRank = 16, ForgetGate = true)`.
    let path: PositionSpec = PathPosition()

    /// PaTH-FoX: PaTH with the forget gate.
    let pathFox: PositionSpec = PathPosition(ForgetGate = true)
