/// Gated attention (arXiv 2505.06708) in the DSL: lowering, validation, JSON.
module ModelDsl.Tests.GateTests

open Expecto
open ModelDsl
open ModelDsl.Core.Json
open ModelDsl.Core.Model

let private small () =
    Experiment.pretrain "small" (Model.llama (vocab = 16, width = 64, depth = 4, heads = 4, kvHeads = 2))
    |> Experiment.task (Tasks.sparseParity (bits = 8, secret = 2))

let private lowered experiment =
    match Experiment.toSpec experiment with
    | Ok spec -> spec
    | Error errors -> failtestf "expected a valid spec, got %A" errors

let private errorPaths experiment =
    match Experiment.toSpec experiment with
    | Ok _ -> failtest "expected validation errors"
    | Error errors -> errors |> List.map (fun (e: ModelDsl.Core.Validation.ValidationError) -> e.Path)

let private gateOf (spec: ModelDsl.Core.ExperimentSpec) (layer: int) = spec.Model.Blocks[layer].Attention.Gate

[<Tests>]
let tests =
    testList "gated attention" [
        test "Gate.g1 lowers to the IR's default gate, the paper's winner" {
            Expect.equal Gate.g1 (GateSpec()) "defaults"
            let spec = GateSpec()
            Expect.equal (spec.Position, spec.Granularity, spec.Activation, spec.Combination, spec.SharedAcrossHeads)
                (GatePosition.G1, GateGranularity.Elementwise, GateActivation.Sigmoid, GateCombination.Multiplicative, false) "winner"
        }

        test "every combinator lowers to its IR field" {
            let gate = Gate.g1 |> Gate.at GatePosition.G3 |> Gate.headwise |> Gate.shared |> Gate.silu |> Gate.additive
            Expect.equal gate
                (GateSpec(Position = GatePosition.G3, Granularity = GateGranularity.Headwise, SharedAcrossHeads = true,
                          Activation = GateActivation.Silu, Combination = GateCombination.Additive)) "variant"
            let back = gate |> Gate.elementwise |> Gate.perHead |> Gate.sigmoid |> Gate.multiplicative
            Expect.equal back (GateSpec(Position = GatePosition.G3)) "and back"
            for gate, position in [ Gate.g2, GatePosition.G2; Gate.g3, GatePosition.G3; Gate.g4, GatePosition.G4; Gate.g5, GatePosition.G5 ] do
                Expect.equal gate (GateSpec(Position = position)) $"{position}"
            Expect.equal Gate.g1Headwise (GateSpec(Granularity = GateGranularity.Headwise)) "g1Headwise"
        }

        test "each layer may have its own gate" {
            let spec =
                small ()
                |> Experiment.model (
                    Model.everyNth 2 (Block.attention (Attention.gate Gate.g1))
                    >> Model.layer 0 (Block.attention (Attention.gate (Gate.g2 |> Gate.headwise))))
                |> lowered
            Expect.equal (gateOf spec 0) (GateSpec(Position = GatePosition.G2, Granularity = GateGranularity.Headwise)) "layer 0: G2 headwise"
            Expect.equal (gateOf spec 1) (GateSpec()) "layer 1: G1"
            Expect.isNull (gateOf spec 2) "layer 2: no gate"
            Expect.equal (gateOf spec 3) (GateSpec()) "layer 3: G1"
            let removed = small () |> Experiment.model (Model.attention (Attention.gate Gate.g1 >> Attention.noGate)) |> lowered
            Expect.isTrue (removed.Model.Blocks |> Seq.forall (fun b -> isNull b.Attention.Gate)) "noGate removes it"
        }

        test "a G5 gate that is headwise or shared is reported at its field and layer" {
            let paths =
                small ()
                |> Experiment.model (Model.layer 1 (Block.attention (Attention.gate (Gate.g5 |> Gate.headwise |> Gate.shared))))
                |> errorPaths
            Expect.equal paths [ "model.blocks[1].attention.gate.granularity"; "model.blocks[1].attention.gate.sharedAcrossHeads" ] "paths"
        }

        test "gate JSON uses readable names and rejects unknown fields" {
            let spec = AttentionSpec(Gate = GateSpec(Position = GatePosition.G2, Activation = GateActivation.Silu))
            let json = SpecJson.Serialize spec
            Expect.stringContains json "\"position\": \"g2\"" "position by name"
            Expect.stringContains json "\"activation\": \"silu\"" "activation by name"
            Expect.equal (SpecJson.Deserialize<AttentionSpec> json) spec "round trip"
            let typo = json.Replace("\"sharedAcrossHeads\"", "\"sharedAcrossHead\"")
            Expect.throwsT<SpecFormatException> (fun () -> SpecJson.Deserialize<AttentionSpec> typo |> ignore) "unknown field"
            let badPosition = json.Replace("\"g2\"", "\"g7\"")
            Expect.throwsT<SpecFormatException> (fun () -> SpecJson.Deserialize<AttentionSpec> badPosition |> ignore) "unknown position"
        }
    ]
