#load "../../../modeldsl.fsx"
// Usage: dotnet fsi docs/studies/task-generalization/pilot.fsx DEMONSTRATIONS STEPS TRAINING_TASKS cot|direct WIDTH DEPTH
open ModelDsl.Runtime.Studies
// Pilot: can in-context Parity(10,2) be learned on held-out tasks at all? Vary demonstrations and steps.
let args = fsi.CommandLineArgs |> Array.skip 1
let demos = int args.[0]
let steps = int args.[1]
let tasks = int args.[2]
let cot = args.[3] = "cot"
let width = int args.[4]
let depth = int args.[5]
let name = sprintf "tg-d%d-s%d-t%d-%s-w%d-l%d" demos steps tasks args.[3] width depth
let spec =
    Experiment.pretrain name (Model.llama (vocab = 4, width = width, depth = depth, heads = 4))
    |> Experiment.task (Tasks.parityInContext (bits = 10, secret = 2, trainingTasks = tasks, demonstrations = demos, cot = cot, splitSeed = 1))
    |> Experiment.optimizer (AdamW(Lr = 1e-3, WeightDecay = 0.01))
    |> Experiment.schedule (Schedule.constant (warmup = 0.05))
    |> Experiment.budget (Budget.steps steps)
    |> Experiment.batch (globalBatch = 64)
    |> Experiment.eval (every = steps / 5, batches = 2, problems = 256)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed 1
    |> Experiment.threads 1
    |> Experiment.toSpecOrFail
let folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "task-generalization-pilot")
System.IO.Directory.CreateDirectory folder |> ignore
let sw = System.Diagnostics.Stopwatch.StartNew()
let run = StudyTrainer.Train(spec, folder, entropyRows = 0)
printfn "RESULT %s final %.3f best %.3f fullmatch %.3f seconds %.0f" name run.FinalAccuracy run.BestAccuracy run.FinalFullMatchAccuracy sw.Elapsed.TotalSeconds
