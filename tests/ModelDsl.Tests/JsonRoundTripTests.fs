module ModelDsl.Tests.JsonRoundTripTests

open Expecto
open FsCheck
open FsCheck.FSharp
open ModelDsl.Core
open ModelDsl.Core.Json

let private roundTrip (spec: ExperimentSpec) =
    SpecJson.Deserialize<ExperimentSpec>(SpecJson.Serialize spec)

[<Tests>]
let tests =
    testList "JSON round trip" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 1000 } "any ExperimentSpec survives Serialize/Deserialize with equality" (
            Prop.forAll (Arb.fromGen IrGenerators.experiment) (fun spec ->
                let back = roundTrip spec
                (back = spec) |> Prop.label (SpecJson.Serialize spec)))

        test "a spec with clipping disabled stays disabled" {
            let spec = ExperimentSpec(Training = Training.TrainingSpec(ClipGradNorm = System.Nullable()))
            Expect.equal (roundTrip spec).Training.ClipGradNorm (System.Nullable()) "null clipGradNorm must round-trip as null"
        }

        test "equal specs are equal after a round trip of a DSL-built spec" {
            let spec =
                ModelDsl.Model.llama (vocab = 16, width = 32, depth = 3, heads = 4)
                |> ModelDsl.Model.layer 1 (ModelDsl.Block.attention (ModelDsl.Attention.position ModelDsl.Position.noPosition))
                |> ModelDsl.Experiment.pretrain "round-trip"
            Expect.equal (roundTrip spec) spec "round trip"
            Expect.notEqual (roundTrip spec) (ExperimentSpec()) "a different spec must not compare equal"
        }
    ]
