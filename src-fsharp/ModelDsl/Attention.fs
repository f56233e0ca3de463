namespace ModelDsl

open ModelDsl.Core.Model

/// Causal multi-head self-attention. Grouped-query when KvHeads < Heads.
type Attention =
    { Heads: int
      /// None: as many KV heads as query heads.
      KvHeads: int option
      /// None: width / heads.
      HeadDim: int option
      Position: Position
      /// RMS-normalise queries and keys per head before the dot product.
      QkNorm: bool
      /// Biases on the q/k/v/o projections.
      Bias: bool
      /// A gate on one of the attention's tensors (arXiv 2505.06708); None: no gate.
      Gate: Gate option }

[<RequireQualifiedAccess>]
module Attention =
    /// The IR's default attention (4 heads, RoPE, no QK-norm, no bias).
    let defaults =
        let spec = AttentionSpec()
        { Heads = spec.Heads
          KvHeads = Option.ofNullable spec.KvHeads
          HeadDim = Option.ofNullable spec.HeadDim
          Position = Position.rope
          QkNorm = spec.QkNorm
          Bias = spec.Bias
          Gate = None }

    let heads (count: int) (attention: Attention) = { attention with Heads = count }

    /// Key/value heads for grouped-query attention (must divide the query heads).
    let kvHeads (count: int) (attention: Attention) = { attention with KvHeads = Some count }

    let headDim (dimension: int) (attention: Attention) = { attention with HeadDim = Some dimension }

    let position (position: Position) (attention: Attention) = { attention with Position = position }

    /// Turn on per-head RMS normalisation of queries and keys.
    let qkNorm (attention: Attention) = { attention with QkNorm = true }

    /// Turn on biases in the q/k/v/o projections.
    let bias (attention: Attention) = { attention with Bias = true }

    /// Gate one tensor of the attention, e.g. `Attention.gate Gate.g1` (the paper's winner).
    let gate (gate: Gate) (attention: Attention) = { attention with Gate = Some gate }

    /// Remove the gate.
    let noGate (attention: Attention) = { attention with Gate = None }

    let toSpec (attention: Attention) =
        AttentionSpec(
            Heads = attention.Heads,
            KvHeads = Option.toNullable attention.KvHeads,
            HeadDim = Option.toNullable attention.HeadDim,
            Position = Position.toSpec attention.Position,
            QkNorm = attention.QkNorm,
            Bias = attention.Bias,
            Gate = (attention.Gate |> Option.map Gate.toSpec |> Option.toObj))
