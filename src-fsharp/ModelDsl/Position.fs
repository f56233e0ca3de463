namespace ModelDsl

/// How attention learns token order. New encodings (PaTH, ...) become new cases.
type Position =
    /// Rotary position embedding (Su et al. 2021) with base theta.
    | Rope of theta: float
    /// No position encoding (NoPE): the causal mask alone breaks symmetry.
    | NoPosition

[<RequireQualifiedAccess>]
module Position =
    /// RoPE with the IR's default base (10000).
    let rope = Rope(ModelDsl.Core.Model.Rope().Theta)

    /// RoPE with an explicit base, e.g. 500000 for long contexts (Llama 3).
    let ropeTheta (theta: float) = Rope theta

    /// No position encoding.
    let noPosition = NoPosition

    let toSpec (position: Position) : ModelDsl.Core.Model.PositionSpec =
        match position with
        | Rope theta -> ModelDsl.Core.Model.Rope(Theta = theta)
        | NoPosition -> ModelDsl.Core.Model.NoPosition()
