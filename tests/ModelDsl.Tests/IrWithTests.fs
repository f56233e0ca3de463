/// Ir.With: copy-and-update of the IR's C# records from F#.
module ModelDsl.Tests.IrWithTests

open Expecto
open ModelDsl
open ModelDsl.Core
open ModelDsl.Core.Model
open ModelDsl.Core.Training

[<Tests>]
let tests =
    testList "Ir.With" [
        test "replaces one property, keeps every other, and leaves the original untouched" {
            let original = TrainingSpec(Seed = 3, Device = "auto", Threads = 2, Optimizer = Muon(Momentum = 0.9))
            let changed = Ir.With(original, original.Seed, 7)
            Expect.equal changed (TrainingSpec(Seed = 7, Device = "auto", Threads = 2, Optimizer = Muon(Momentum = 0.9))) "one field replaced"
            Expect.equal original.Seed 3 "original unchanged"
            Expect.isFalse (obj.ReferenceEquals(original, changed)) "a new record"
        }

        test "keeps the runtime kind of a derived record" {
            let muon: OptimizerSpec = Muon(Momentum = 0.9)
            let changed = Ir.With(muon, muon.Lr, 0.5)
            Expect.equal changed (Muon(Momentum = 0.9, Lr = 0.5) :> OptimizerSpec) "still a Muon with its own fields"
        }

        test "sets nullable and reference properties to null" {
            let attention = AttentionSpec(KvHeads = 2, Gate = GateSpec())
            let cleared = Ir.With(Ir.With(attention, attention.KvHeads, System.Nullable()), attention.Gate, null)
            Expect.equal cleared (AttentionSpec()) "both cleared"
        }

        test "an expression that is not a property of the record is refused with a message" {
            let spec = ExperimentSpec()
            let other = TrainingSpec()
            Expect.throwsT<System.ArgumentException> (fun () -> Ir.With(spec, spec.Name + "x", "y") |> ignore) "not a property"
            Expect.throwsT<System.ArgumentException> (fun () -> Ir.With(spec, other.Device, "cpu") |> ignore) "a property of another record type"
        }
    ]
