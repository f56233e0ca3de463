namespace ModelDsl

/// A normalisation layer. LayerNorm etc. become further cases.
type Norm =
    /// x / sqrt(mean(x^2) + eps) * g (Zhang and Sennrich 2019).
    | RmsNorm of eps: float

[<RequireQualifiedAccess>]
module Norm =
    /// RMSNorm with the IR's default epsilon.
    let rms = RmsNorm(ModelDsl.Core.Model.RmsNorm().Eps)

    let rmsEps (eps: float) = RmsNorm eps

    let eps (eps: float) (norm: Norm) =
        match norm with
        | RmsNorm _ -> RmsNorm eps

    let toSpec (norm: Norm) : ModelDsl.Core.Model.NormSpec =
        match norm with
        | RmsNorm eps -> ModelDsl.Core.Model.RmsNorm(Eps = eps)
