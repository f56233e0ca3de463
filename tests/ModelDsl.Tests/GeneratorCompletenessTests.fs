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

/// The valid half of a family: 200 draws, every kind among them, each passing its own Validate; and the
/// wild half does produce invalid values, so the check above could fail.
let private validates<'Base> (handWritten: (Type * FsCheck.Gen<'Base>) list) =
    let drawn = Gen.sample 200 (DerivedGenerators.family<'Base> handWritten) |> List.ofSeq
    Expect.equal drawn.Length 200 $"{typeof<'Base>.Name}: the generator draws"
    let kinds = DerivedGenerators.kindsOf typeof<'Base> |> List.map _.Name |> Set.ofList
    Expect.equal (drawn |> List.map (fun v -> (box v).GetType().Name) |> Set.ofList) kinds $"every kind of {typeof<'Base>.Name} among the valid draws"
    for value in drawn do
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
        test "wild draws include invalid values of the families that can be invalid" {
            // Without this, "valid draws pass validation" would also pass if isValid accepted everything.
            let invalidAmong (generator: FsCheck.Gen<'a>) = Gen.sample 300 generator |> Seq.exists (fun v -> not (DerivedGenerators.isValid (box v)))
            Expect.isTrue (invalidAmong DerivedGenerators.wildFamily<OptimizerSpec>) "some wild optimizer is invalid"
            Expect.isTrue (invalidAmong DerivedGenerators.wildFamily<ScheduleSpec>) "some wild schedule is invalid"
            Expect.isTrue (invalidAmong DerivedGenerators.wildFamily<BudgetSpec>) "some wild budget is invalid"
            Expect.isFalse (DerivedGenerators.isValid (box (AdamW(Lr = -1.0)))) "a negative learning rate is invalid"
        }
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
