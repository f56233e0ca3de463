namespace ModelDsl

open ModelDsl.Core.Model

/// Normalisation layers (the IR's NormSpec kinds).
[<RequireQualifiedAccess>]
module Norm =
    /// RMSNorm (Zhang and Sennrich 2019) with the IR's default epsilon.
    let rms: NormSpec = RmsNorm()

    let rmsEps (eps: float) : NormSpec = RmsNorm(Eps = eps)

    /// The same norm with another epsilon.
    let eps (eps: float) (norm: NormSpec) : NormSpec =
        match norm with
        | :? RmsNorm as rms -> Ir.With(rms, rms.Eps, eps)
        | other -> invalidArg (nameof norm) $"Norm.eps: {other.GetType().Name} has no epsilon"
