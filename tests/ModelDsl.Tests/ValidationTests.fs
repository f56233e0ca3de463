module ModelDsl.Tests.ValidationTests

open Expecto
open ModelDsl
open ModelDsl.Core.Validation

let private small () =
    Experiment.pretrain "small" (Model.llama (vocab = 16, width = 64, depth = 4, heads = 4))
    |> Experiment.task (Tasks.sparseParity (bits = 8, secret = 2))

let private errorPaths experiment =
    match Experiment.toSpec experiment with
    | Ok _ -> failtest "expected validation errors"
    | Error errors -> errors |> List.map (fun (e: ValidationError) -> e.Path)

[<Tests>]
let tests =
    testList "DSL validation" [
        test "the small experiment is valid" {
            Expect.isOk (Experiment.toSpec (small ())) "valid"
        }

        test "heads not dividing the width are reported for every layer" {
            let paths = small () |> Experiment.model (Model.attention (Attention.heads 3 >> Attention.position Position.noPosition)) |> errorPaths
            Expect.equal paths [ for i in 0..3 -> $"model.blocks[{i}].attention.heads" ] "paths"
        }

        test "RoPE with an odd head dimension is reported at the position" {
            let paths = small () |> Experiment.model (Model.layer 1 (Block.attention (Attention.headDim 15))) |> errorPaths
            Expect.equal paths [ "model.blocks[1].attention.position" ] "paths"
        }

        test "a bad edit in one layer names that layer" {
            let paths = small () |> Experiment.model (Model.layer 2 (Block.attention (Attention.kvHeads 3))) |> errorPaths
            Expect.equal paths [ "model.blocks[2].attention.kvHeads" ] "paths"
        }

        test "every training error is reported at once" {
            let paths =
                small ()
                |> Experiment.optimizer (ModelDsl.Core.Training.AdamW(Lr = -1.0, Beta2 = 1.0))
                |> Experiment.schedule (Schedule.wsd (warmup = 0.5, decayFraction = 0.6))
                |> Experiment.budget (Budget.steps 0)
                |> Experiment.batch (globalBatch = 64, microBatch = 24)
                |> Experiment.clip 0.0
                |> Experiment.threads 0
                |> Experiment.device "tpu"
                |> errorPaths
            Expect.equal (Set.ofList paths)
                (Set.ofList
                    [ "training.optimizer.lr"; "training.optimizer.beta2"; "training.schedule"; "training.budget.count"
                      "training.microBatch"; "training.clipGradNorm"; "training.threads"; "training.device" ])
                "paths"
        }

        test "task errors name the task fields" {
            let paths =
                small ()
                |> Experiment.task (Tasks.sparseParity (bits = 8, secret = 2, secretIndices = [ 5; 3 ], trainingExamples = 0L))
                |> errorPaths
            Expect.equal paths [ "task.secretIndices"; "task.trainingExamples" ] "paths"
        }

        test "a model too small for the task is reported against the model" {
            let paths = small () |> Experiment.model (Model.vocab 3 >> Model.maxSequenceLength 4) |> errorPaths
            Expect.equal paths [ "model.vocab"; "model.maxSequenceLength" ] "paths"
        }

        test "an empty stack is an error" {
            let paths = small () |> Experiment.model (fun m -> Ir.With(m, m.Blocks, ModelDsl.Core.ValueList<ModelDsl.Core.Model.BlockSpec>.Empty)) |> errorPaths
            Expect.equal paths [ "model.blocks" ] "paths"
        }

        test "toSpecOrFail raises with every error" {
            let failing = small () |> Experiment.model (Model.attention (Attention.heads 3 >> Attention.position Position.noPosition))
            let raised =
                try
                    Experiment.toSpecOrFail failing |> ignore
                    None
                with :? SpecValidationException as e -> Some e
            match raised with
            | None -> failtest "expected SpecValidationException"
            | Some e ->
                Expect.equal e.Errors.Count 4 "one error per layer"
                Expect.stringContains e.Message "model.blocks[3].attention.heads" "message lists the paths"
        }

        test "editing a layer that does not exist is an error, not ignored" {
            Expect.throwsT<System.ArgumentException>
                (fun () -> small () |> Experiment.model (Model.layer 4 id) |> ignore)
                "layer 4 of 4"
            Expect.throwsT<System.ArgumentException>
                (fun () -> small () |> Experiment.model (Model.everyNth 0 id) |> ignore)
                "everyNth 0"
        }
    ]
