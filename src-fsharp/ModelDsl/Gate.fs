namespace ModelDsl

/// Where in attention a gate acts (Qiu et al. 2025, arXiv 2505.06708, Fig. 1).
type GatePosition =
    /// On each head's SDPA output, before the output projection: the paper's best placement.
    | G1
    /// On the values, after the value projection (KV heads under grouped-query attention).
    | G2
    /// On the keys, after the key projection (and QK-norm), before RoPE.
    | G3
    /// On the queries, after the query projection (and QK-norm), before RoPE.
    | G4
    /// On the attention output, after the output projection (elementwise only: no heads there).
    | G5

/// One gate score per element of the gated tensor, or one per head (broadcast over the head dimension).
type GateGranularity =
    | Elementwise
    | Headwise

type GateActivation =
    | Sigmoid
    | Silu

/// Y * act(X W_theta), or Y + act(X W_theta).
type GateCombination =
    | Multiplicative
    | Additive

/// A gate Y' = Y * act(X W_theta) on one tensor Y of attention, X the normalised block input.
type Gate =
    { Position: GatePosition
      Granularity: GateGranularity
      Activation: GateActivation
      Combination: GateCombination
      /// One set of scores for every head instead of one per head (head-specific).
      SharedAcrossHeads: bool }

[<RequireQualifiedAccess>]
module Gate =
    /// The paper's winner: after SDPA, elementwise, head-specific, multiplicative sigmoid.
    let g1 =
        { Position = G1; Granularity = Elementwise; Activation = Sigmoid; Combination = Multiplicative; SharedAcrossHeads = false }

    /// The same gate at another position.
    let at (position: GatePosition) (gate: Gate) = { gate with Position = position }

    /// Sigmoid gate on the values (elementwise, per KV head).
    let g2 = g1 |> at G2
    /// Sigmoid gate on the keys.
    let g3 = g1 |> at G3
    /// Sigmoid gate on the queries.
    let g4 = g1 |> at G4
    /// Sigmoid gate after the output projection.
    let g5 = g1 |> at G5

    /// One score per head, broadcast over the head dimension.
    let headwise (gate: Gate) = { gate with Granularity = Headwise }
    /// One score per element of the gated tensor.
    let elementwise (gate: Gate) = { gate with Granularity = Elementwise }
    /// One set of scores shared by every head.
    let shared (gate: Gate) = { gate with SharedAcrossHeads = true }
    /// Each head its own scores (head-specific).
    let perHead (gate: Gate) = { gate with SharedAcrossHeads = false }
    let sigmoid (gate: Gate) = { gate with Activation = Sigmoid }
    let silu (gate: Gate) = { gate with Activation = Silu }
    /// Y + act(X W_theta) instead of Y * act(X W_theta).
    let additive (gate: Gate) = { gate with Combination = Additive }
    let multiplicative (gate: Gate) = { gate with Combination = Multiplicative }

    /// The winner with one scalar per head (the paper's cheaper headwise variant).
    let g1Headwise = g1 |> headwise

    let toSpec (gate: Gate) : ModelDsl.Core.Model.GateSpec =
        ModelDsl.Core.Model.GateSpec(
            Position =
                (match gate.Position with
                 | G1 -> ModelDsl.Core.Model.GatePosition.G1
                 | G2 -> ModelDsl.Core.Model.GatePosition.G2
                 | G3 -> ModelDsl.Core.Model.GatePosition.G3
                 | G4 -> ModelDsl.Core.Model.GatePosition.G4
                 | G5 -> ModelDsl.Core.Model.GatePosition.G5),
            Granularity =
                (match gate.Granularity with
                 | Elementwise -> ModelDsl.Core.Model.GateGranularity.Elementwise
                 | Headwise -> ModelDsl.Core.Model.GateGranularity.Headwise),
            Activation =
                (match gate.Activation with
                 | Sigmoid -> ModelDsl.Core.Model.GateActivation.Sigmoid
                 | Silu -> ModelDsl.Core.Model.GateActivation.Silu),
            Combination =
                (match gate.Combination with
                 | Multiplicative -> ModelDsl.Core.Model.GateCombination.Multiplicative
                 | Additive -> ModelDsl.Core.Model.GateCombination.Additive),
            SharedAcrossHeads = gate.SharedAcrossHeads)
