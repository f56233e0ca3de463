namespace ModelDsl

open ModelDsl.Core.Model

/// Edits of the IR's AttentionSpec (causal multi-head self-attention; grouped-query when KvHeads < Heads).
[<RequireQualifiedAccess>]
module Attention =
    let heads (count: int) (attention: AttentionSpec) = Ir.With(attention, attention.Heads, count)

    /// Key/value heads for grouped-query attention (must divide the query heads).
    let kvHeads (count: int) (attention: AttentionSpec) = Ir.With(attention, attention.KvHeads, System.Nullable count)

    let headDim (dimension: int) (attention: AttentionSpec) = Ir.With(attention, attention.HeadDim, System.Nullable dimension)

    let position (position: PositionSpec) (attention: AttentionSpec) = Ir.With(attention, attention.Position, position)

    /// Turn on per-head RMS normalisation of queries and keys.
    let qkNorm (attention: AttentionSpec) = Ir.With(attention, attention.QkNorm, true)

    /// Turn on biases in the q/k/v/o projections.
    let bias (attention: AttentionSpec) = Ir.With(attention, attention.Bias, true)

    /// Gate one tensor of the attention, e.g. `Attention.gate Gate.g1` (the paper's winner).
    let gate (gate: GateSpec) (attention: AttentionSpec) = Ir.With(attention, attention.Gate, gate)

    /// Remove the gate.
    let noGate (attention: AttentionSpec) = Ir.With(attention, attention.Gate, null)
