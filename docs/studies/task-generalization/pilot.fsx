#load "../../../modeldsl.fsx"
// Usage: dotnet fsi docs/studies/task-generalization/pilot.fsx DEMONSTRATIONS STEPS TRAINING_TASKS cot|direct WIDTH DEPTH [BITS=10] [LR=1e-3] [EVAL_EVERY=STEPS/5] [SEED=1] [WEIGHT_DECAY=0.01]
open ModelDsl.Runtime.Studies
// Pilot: can in-context Parity(BITS, 2) be learned on held-out tasks at all? Vary demonstrations, steps, size.
let args = fsi.CommandLineArgs |> Array.skip 1
let opt i fallback = if args.Length > i then args.[i] else fallback
let demos = int args.[0]
let steps = int args.[1]
let tasks = int args.[2]
let cot = args.[3] = "cot"
let width = int args.[4]
let depth = int args.[5]
let bits = int (opt 6 "10")
let lr = float (opt 7 "1e-3")
let every = int (opt 8 (string (steps / 5)))
let seed = int (opt 9 "1")
let weightDecay = float (opt 10 "0.01")
let name =
    sprintf "tg-n%d-d%d-s%d-t%d-%s-w%d-l%d-lr%g-seed%d" bits demos steps tasks args.[3] width depth lr seed
    + (if weightDecay = 0.01 then "" else sprintf "-wd%g" weightDecay)
let spec =
    Experiment.pretrain name (Model.llama (vocab = 4, width = width, depth = depth, heads = 4))
    |> Experiment.task (Tasks.parityInContext (bits = bits, secret = 2, trainingTasks = tasks, demonstrations = demos, cot = cot, splitSeed = 1))
    |> Experiment.optimizer (AdamW(Lr = lr, WeightDecay = weightDecay))
    |> Experiment.schedule (Schedule.constant (warmup = 0.05))
    |> Experiment.budget (Budget.steps steps)
    |> Experiment.batch (globalBatch = 64)
    |> Experiment.eval (every = every, batches = 2, problems = 256)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed seed
    |> Experiment.threads 1
    |> Experiment.toSpecOrFail
let folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "task-generalization-pilot")
System.IO.Directory.CreateDirectory folder |> ignore
let sw = System.Diagnostics.Stopwatch.StartNew()
let onEval (e: StudyEval) =
    printfn "EVAL %s step %d loss %.4f acc %.3f fullmatch %.3f seconds %.0f" name e.Step e.ValidationLoss
        (e.Accuracy.GetValueOrDefault nan) (e.FullMatchAccuracy.GetValueOrDefault nan) sw.Elapsed.TotalSeconds
let run = StudyTrainer.Train(spec, folder, entropyRows = 0, onEval = System.Action<StudyEval> onEval)
printfn "RESULT %s final %.3f best %.3f fullmatch %.3f seconds %.0f" name run.FinalAccuracy run.BestAccuracy run.FinalFullMatchAccuracy sw.Elapsed.TotalSeconds
