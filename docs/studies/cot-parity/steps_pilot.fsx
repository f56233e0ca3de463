// Pilot for the CoT-parity study: how many steps does Parity(20, k) with a fixed training set of
// 2^e examples need to reach 95% held-out accuracy? One run, stopped at the target or the step cap,
// printing held-out accuracy at every evaluation. Same model, optimizer and data as examples/cot_parity.fsx.
//   PARITY_PILOT=<setting> ./modeldsl run docs/studies/cot-parity/steps_pilot.fsx --threads 1
// A setting is k<k>-N<e>-s<cap>-e<evalEvery>[-direct][-wd<decay>][-seed<n>], e.g. k3-N8-s4000-e100.
#load "../../../modeldsl.fsx"

open ModelDsl.Runtime.Studies

type Pilot = { K: int; Exponent: int; Cap: int; EvalEvery: int; Cot: bool; WeightDecay: float; Seed: int }

let parse (text: string) =
    let parts = text.Split '-'
    let value (prefix: string) fallback =
        parts |> Array.tryPick (fun p -> if p.StartsWith prefix && p.Length > prefix.Length && (System.Char.IsDigit p[prefix.Length] || p[prefix.Length] = '.') then Some (p.Substring prefix.Length) else None)
        |> Option.defaultValue fallback
    { K = int (value "k" "2"); Exponent = int (value "N" "8"); Cap = int (value "s" "600"); EvalEvery = int (value "e" "100")
      Cot = not (Array.contains "direct" parts); WeightDecay = float (value "wd" "0.01"); Seed = int (value "seed" "1") }

let study (context: StudyContext) =
    let name = System.Environment.GetEnvironmentVariable "PARITY_PILOT"
    let name = if System.String.IsNullOrEmpty name then "k2-N6-s40-e20" else name
    let p = parse name
    let folder = context.CreateFolder "parity-pilot"
    let spec =
        Experiment.pretrain name (Model.llama (vocab = 4, width = 64, depth = 2, heads = 4))
        |> Experiment.task (Tasks.sparseParity (bits = 20, secret = p.K, cot = p.Cot, trainingExamples = (1L <<< p.Exponent)))
        |> Experiment.optimizer (AdamW(Lr = 3e-3, WeightDecay = p.WeightDecay))
        |> Experiment.schedule (Schedule.constant (warmup = 0.05))
        |> Experiment.budget (Budget.steps p.Cap)
        |> Experiment.batch (globalBatch = 64)
        |> Experiment.eval (every = p.EvalEvery, batches = 2, problems = 256)
        |> Experiment.checkpoint (every = 0, keep = 1)
        |> Experiment.seed p.Seed
        |> Experiment.threads (defaultArg (Option.ofNullable context.Threads) 1)
        |> Experiment.toSpecOrFail
    let clock = System.Diagnostics.Stopwatch.StartNew()
    let show (e: StudyEval) =
        printfn "%s step %5d %6.0fs  val loss %.4f  accuracy %.3f  full-CoT match %.3f" name e.Step clock.Elapsed.TotalSeconds e.ValidationLoss
            (if e.Accuracy.HasValue then e.Accuracy.Value else nan) (if e.FullMatchAccuracy.HasValue then e.FullMatchAccuracy.Value else nan)
    let run = StudyTrainer.Train(spec, folder, 0.95, entropyRows = 0, onEval = System.Action<StudyEval> show)
    printfn "%s done: best %.3f after %d steps, %.0f s (%.1f steps/s)" name run.BestAccuracy run.Steps clock.Elapsed.TotalSeconds (float run.Steps / clock.Elapsed.TotalSeconds)

#if !MODELDSL_CLI
runStudy study
#endif
