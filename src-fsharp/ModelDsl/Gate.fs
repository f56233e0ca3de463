namespace ModelDsl

open ModelDsl.Core.Model

/// Gates on attention's tensors (Qiu et al. 2025, arXiv 2505.06708): the IR's GateSpec, and
/// combinators for its variants.
[<RequireQualifiedAccess>]
module Gate =
    /// The paper's winner: after SDPA, elementwise, head-specific, multiplicative sigmoid.
    let g1 = GateSpec()

    /// The same gate at another position.
    let at (position: GatePosition) (gate: GateSpec) = Ir.With(gate, gate.Position, position)

    /// Sigmoid gate on the values (elementwise, per KV head).
    let g2 = g1 |> at GatePosition.G2
    /// Sigmoid gate on the keys.
    let g3 = g1 |> at GatePosition.G3
    /// Sigmoid gate on the queries.
    let g4 = g1 |> at GatePosition.G4
    /// Sigmoid gate after the output projection.
    let g5 = g1 |> at GatePosition.G5

    /// One score per head, broadcast over the head dimension.
    let headwise (gate: GateSpec) = Ir.With(gate, gate.Granularity, GateGranularity.Headwise)
    /// One score per element of the gated tensor.
    let elementwise (gate: GateSpec) = Ir.With(gate, gate.Granularity, GateGranularity.Elementwise)
    /// One set of scores shared by every head.
    let shared (gate: GateSpec) = Ir.With(gate, gate.SharedAcrossHeads, true)
    /// Each head its own scores (head-specific).
    let perHead (gate: GateSpec) = Ir.With(gate, gate.SharedAcrossHeads, false)
    let sigmoid (gate: GateSpec) = Ir.With(gate, gate.Activation, GateActivation.Sigmoid)
    let silu (gate: GateSpec) = Ir.With(gate, gate.Activation, GateActivation.Silu)
    /// Y + act(X W_theta) instead of Y * act(X W_theta).
    let additive (gate: GateSpec) = Ir.With(gate, gate.Combination, GateCombination.Additive)
    let multiplicative (gate: GateSpec) = Ir.With(gate, gate.Combination, GateCombination.Multiplicative)

    /// The winner with one scalar per head (the paper's cheaper headwise variant).
    let g1Headwise = g1 |> headwise
