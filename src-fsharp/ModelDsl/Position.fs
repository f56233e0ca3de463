namespace ModelDsl

/// PaTH position encoding (Yang et al. 2025, arXiv 2505.16381): data-dependent Householder-like
/// transitions between every query and key.
type PaTH =
    { /// Inner width of the w projection (width -> LowRank -> kvHeads * headDim); None = full rank.
      LowRank: int option
      /// Kernel of the causal depthwise convolution (SiLU) on w; 0 = none.
      ShortConvKernel: int
      /// PaTH-FoX: add the forget-gate term scale * (G_i - G_j).
      ForgetGate: bool }

[<RequireQualifiedAccess>]
module PaTH =
    /// The paper's layer: rank-32 w projection, short convolution of kernel 3, no forget gate.
    let defaults =
        let spec = ModelDsl.Core.Model.PathPosition()
        { LowRank = Option.ofNullable spec.LowRank
          ShortConvKernel = spec.ShortConvKernel.GetValueOrDefault()
          ForgetGate = spec.ForgetGate }

    /// PaTH-FoX: PaTH with the forget gate.
    let withForgetGate = { defaults with ForgetGate = true }

/// How attention learns token order. New encodings become new cases.
type Position =
    /// Rotary position embedding (Su et al. 2021) with base theta.
    | Rope of theta: float
    /// No position encoding (NoPE): the causal mask alone breaks symmetry.
    | NoPosition
    /// PaTH: data-dependent transitions (arXiv 2505.16381).
    | PaTHPosition of PaTH

[<RequireQualifiedAccess>]
module Position =
    /// RoPE with the IR's default base (10000).
    let rope = Rope(ModelDsl.Core.Model.Rope().Theta)

    /// RoPE with an explicit base, e.g. 500000 for long contexts (Llama 3).
    let ropeTheta (theta: float) = Rope theta

    /// No position encoding.
    let noPosition = NoPosition

    /// PaTH with the paper's defaults.
    let path = PaTHPosition PaTH.defaults

    /// PaTH with explicit settings, e.g. `Position.pathWith { PaTH.defaults with ForgetGate = true }`.
    let pathWith (settings: PaTH) = PaTHPosition settings

    let toSpec (position: Position) : ModelDsl.Core.Model.PositionSpec =
        match position with
        | Rope theta -> ModelDsl.Core.Model.Rope(Theta = theta)
        | NoPosition -> ModelDsl.Core.Model.NoPosition()
        | PaTHPosition settings ->
            ModelDsl.Core.Model.PathPosition(
                LowRank = Option.toNullable settings.LowRank,
                ShortConvKernel = System.Nullable settings.ShortConvKernel,
                ForgetGate = settings.ForgetGate)
