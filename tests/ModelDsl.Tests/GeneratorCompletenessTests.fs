/// The derived generators cover the IR: every kind of every polymorphic family (found by reflection
/// over the IR's assembly, not listed here) is produced, validates when drawn as a valid value, and
/// survives the JSON round trip.
module ModelDsl.Tests.GeneratorCompletenessTests

open System
open Expecto
open FsCheck.FSharp
open ModelDsl.Core.Json
open ModelDsl.Core.Model
open ModelDsl.Core.Sweeps
open ModelDsl.Core.Tasks
open ModelDsl.Core.Training

let private samples = 400

/// Every kind of the family appears among the samples, and each sample round-trips as the base type.
let private covers<'Base when 'Base: equality> (generator: FsCheck.Gen<'Base>) =
    let drawn = Gen.sample samples generator |> List.ofSeq
    let expected = DerivedGenerators.kindsOf typeof<'Base> |> List.map _.Name |> Set.ofList
    Expect.isGreaterThan expected.Count 0 $"{typeof<'Base>.Name} has kinds"
    let produced = drawn |> List.map (fun value -> (box value).GetType().Name) |> Set.ofList
    Expect.equal produced expected $"every kind of {typeof<'Base>.Name} is generated"
    for value in drawn do
        let json = SpecJson.Serialize<'Base> value
        Expect.equal (SpecJson.Deserialize<'Base> json) value $"round trip of {json}"

/// The valid half of a family: every drawn value passes its own Validate.
let private validates<'Base> (handWritten: (Type * FsCheck.Gen<'Base>) list) =
    for value in Gen.sample 200 (DerivedGenerators.family<'Base> handWritten) do
        Expect.isTrue (DerivedGenerators.isValid (box value)) $"{value} validates"

[<Tests>]
let tests =
    testList "derived generators" [
        test "the kinds of a family are found by reflection over the IR" {
            let optimizers = DerivedGenerators.kindsOf typeof<OptimizerSpec> |> List.map _.Name
            for name in [ "AdamW"; "Muon"; "Kron"; "SophiaH" ] do
                Expect.contains optimizers name $"{name} is an optimizer kind"
            Expect.isFalse (List.contains "OptimizerSpec" optimizers) "the abstract base is not a kind"
        }
        test "every optimizer kind is generated and round-trips" { covers IrGenerators.optimizer }
        test "every task kind is generated and round-trips" { covers IrGenerators.task }
        test "every schedule kind is generated and round-trips" { covers IrGenerators.schedule }
        test "every budget kind is generated and round-trips" { covers IrGenerators.budget }
        test "every position kind is generated and round-trips" { covers IrGenerators.position }
        test "every feed-forward kind is generated and round-trips" { covers IrGenerators.feedForward }
        test "every norm kind is generated and round-trips" { covers IrGenerators.norm }
        test "every search kind is generated and round-trips" { covers IrGenerators.search }
        test "valid draws pass validation" {
            validates<OptimizerSpec> []
            validates<ScheduleSpec> []
            validates<BudgetSpec> []
            validates<PositionSpec> []
            validates<FeedForwardSpec> []
            validates<NormSpec> []
            validates<SearchSpec> []
            validates<TaskSpec> [ typeof<TaskMixture>, IrGenerators.mixture ]
        }
    ]
