// Task generalisation via autoregressive compositional structure (arXiv 2502.08991, PAPERS.md §8):
// in-context sparse parity Parity(d, k). Each task is a secret index set S; a sequence holds several
// demonstrations (x, CoT, y) of one task, then a query. The C(d, k) tasks are split into training
// tasks and held-out tasks; accuracy is measured on held-out tasks only, as the number of training
// tasks grows (the paper: about d ln d training tasks suffice with CoT), with CoT vs without.
//   ./modeldsl run examples/task_generalization.fsx [--quick] [--runs-dir DIR] [--threads N]
//   dotnet fsi examples/task_generalization.fsx [--quick]
//   MODELDSL_STUDY_SEEDS=2 ./modeldsl run examples/task_generalization.fsx --threads 1   (one seed only)
// Writes <runs>/task-generalization-<time>/report.md with a table and a PNG plot. The full mode
// records each finished run in docs/studies/task-generalization/ledger.jsonl and resumes from it.
#load "../modeldsl.fsx"

open ModelDsl.Runtime.Studies

type Settings =
    { Bits: int
      Secret: int
      Demonstrations: int
      TrainingTaskCounts: int list
      Steps: int
      EvalEvery: int
      Problems: int
      Width: int
      Depth: int
      Lr: float
      Seeds: int list }

// The full mode: the setting where the pilots (pilots.md) first learned the in-context task: with 10
// demonstrations of Parity(6, 2) the first CoT token is learned after about 800 steps and the second
// (the running XOR) starts after about 2300 on training tasks; 10k steps leave room past that. The
// d ln d count comes first so that an interrupted study has the most telling runs.
let full = { Bits = 6; Secret = 2; Demonstrations = 10; TrainingTaskCounts = [ 11; 4; 14 ]; Steps = 10000; EvalEvery = 500; Problems = 256; Width = 64; Depth = 2; Lr = 1e-3; Seeds = [ 1; 2 ] }
let quick = { Bits = 6; Secret = 2; Demonstrations = 2; TrainingTaskCounts = [ 3; 8 ]; Steps = 30; EvalEvery = 15; Problems = 32; Width = 32; Depth = 1; Lr = 3e-3; Seeds = [ 1; 2 ] }

let inContext (s: Settings) (threads: int option) cot trainingTasks seed =
    let name = sprintf "icl-parity-d%d-k%d-%s-tasks%d-seed%d" s.Bits s.Secret (if cot then "cot" else "direct") trainingTasks seed
    Experiment.pretrain name (Model.llama (vocab = 4, width = s.Width, depth = s.Depth, heads = 4))
    |> Experiment.task (Tasks.parityInContext (bits = s.Bits, secret = s.Secret, trainingTasks = trainingTasks,
                                               demonstrations = s.Demonstrations, cot = cot, splitSeed = 1))
    |> Experiment.optimizer (AdamW(Lr = s.Lr, WeightDecay = 0.01))
    |> Experiment.schedule (Schedule.constant (warmup = 0.05))
    |> Experiment.budget (Budget.steps s.Steps)
    |> Experiment.batch (globalBatch = 64)
    |> Experiment.eval (every = s.EvalEvery, batches = 2, problems = s.Problems)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed seed
    |> Experiment.threads (defaultArg threads 2)
    |> Experiment.toSpecOrFail

// MODELDSL_STUDY_SEEDS=2 (a comma-separated list) runs only those seeds, e.g. to train another seed in a
// second process on a second core; each process reports on the seeds it was given.
let seedsFromEnvironment (s: Settings) =
    match System.Environment.GetEnvironmentVariable "MODELDSL_STUDY_SEEDS" with
    | null | "" -> s
    | text ->
        let seeds = text.Split(',') |> Array.map (fun t -> match System.Int32.TryParse(t.Trim()) with
                                                            | true, n -> n
                                                            | _ -> failwithf "MODELDSL_STUDY_SEEDS=%s: expected seeds such as 1,2" text) |> List.ofArray
        { s with Seeds = seeds }

let study (context: StudyContext) =
    let s = seedsFromEnvironment (if context.Quick then quick else full)
    let folder = context.CreateFolder "task-generalization"
    let threads = Option.ofNullable context.Threads
    // The full mode keeps its finished runs with the study (under version control), so it resumes
    // on any machine; the quick mode keeps its ledger with its runs.
    let ledger =
        if context.Quick then StudyLedger(System.IO.Path.Combine(folder, "ledger.jsonl"))
        else StudyLedger(System.IO.Path.Combine(__SOURCE_DIRECTORY__, "..", "docs", "studies", "task-generalization", "ledger.jsonl"))
    let totalTasks = ParityInContext(Bits = s.Bits, Secret = s.Secret).TaskCount()
    let runs =
        [ for seed in s.Seeds do
              for count in s.TrainingTaskCounts do
                  for cot in [ true; false ] ->
                      let run = StudyTrainer.Train(inContext s threads cot count seed, folder, entropyRows = 0, ledger = ledger)
                      printfn "seed=%d cot=%b training tasks=%d: held-out accuracy %.3f (best %.3f), full-CoT exact match %.3f"
                          seed cot count run.FinalAccuracy run.BestAccuracy run.FinalFullMatchAccuracy
                      (seed, cot, count), run ]
        |> Map.ofList
    let mean (f: StudyRun -> float) cot count = s.Seeds |> List.averageBy (fun seed -> f runs.[(seed, cot, count)])
    let accuracy = mean (fun r -> r.FinalAccuracy)
    let counts = List.sort s.TrainingTaskCounts
    let seedList = s.Seeds |> List.map string |> String.concat ", "
    let report = StudyReport(folder, "Task generalisation: in-context parity on held-out tasks")
    report.Paragraph(
        sprintf "In-context Parity(d = %d, k = %d): %d tasks (secret index sets), split by a seed into training and held-out tasks. Each sequence: %d demonstrations then a query. %d-layer Llama, width %d, 4 heads; AdamW lr %g, batch 64, %d steps; seeds %s (the table gives the mean over seeds, the per-seed values follow). Accuracy = the query's final answer on %d problems from held-out tasks (never seen in training); d ln d = %.1f."
            s.Bits s.Secret totalTasks s.Demonstrations s.Depth s.Width s.Lr s.Steps seedList s.Problems (float s.Bits * log (float s.Bits))) |> ignore
    report.Table([ "training tasks"; "held-out accuracy with CoT"; "full-CoT exact match"; "held-out accuracy without CoT" ],
                 [ for count in counts ->
                       [| string count; StudyReport.Number (accuracy true count); StudyReport.Number (mean (fun r -> r.FinalFullMatchAccuracy) true count)
                          StudyReport.Number (accuracy false count) |] ]) |> ignore
    report.Table([ "seed"; "CoT"; "training tasks"; "held-out accuracy (final)"; "best"; "full-CoT exact match" ],
                 [ for KeyValue((seed, cot, count), r) in runs ->
                       [| string seed; string cot; string count; StudyReport.Number r.FinalAccuracy; StudyReport.Number r.BestAccuracy
                          StudyReport.Number r.FinalFullMatchAccuracy |] ]) |> ignore
    report.Plot("held-out-accuracy.png", "accuracy on held-out tasks", "number of training tasks", "held-out accuracy",
                [ for cot in [ true; false ] ->
                      PlotSeries((if cot then "with CoT" else "without CoT"),
                                 [| for n in counts -> float n |],
                                 [| for n in counts -> accuracy cot n |]) ]) |> ignore
    // The paper's qualitative claims on these numbers (seed means): with CoT, about d ln d training
    // tasks give high held-out accuracy, and CoT beats no CoT there.
    let dlnd = float s.Bits * log (float s.Bits)
    let atScale = s.TrainingTaskCounts |> List.filter (fun n -> float n >= dlnd * 0.9)
    let generalises = not atScale.IsEmpty && atScale |> List.forall (fun n -> accuracy true n >= 0.9)
    let cotHelps = not atScale.IsEmpty && atScale |> List.forall (fun n -> accuracy true n > accuracy false n + 0.05)
    report.Paragraph(
        sprintf "Claim 1 (with CoT, about d ln d training tasks give >= 90%% held-out accuracy): %s. Claim 2 (CoT beats no CoT at that scale): %s."
            (if generalises then "reproduced" else "not reproduced") (if cotHelps then "reproduced" else "not reproduced")) |> ignore
    printfn "report: %s" (report.Save())

#if !MODELDSL_CLI
runStudy study
#endif
