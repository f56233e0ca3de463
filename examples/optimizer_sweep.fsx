// The optimizer-benchmarking methodology of "Fantastic Pretraining Optimizers and Where to Find
// Them" (arXiv 2509.02046) at a size two CPU cores can afford:
//   - every arm (optimizer) is tuned separately at every data budget by coordinate descent over
//     its learning rate and weight decay (ties under 3e-3, divergence at loss >= 6 or NaN);
//   - budgets are Chinchilla ratios, D = ratio x 20 x N non-embedding parameters;
//   - the metric is the held-out loss at the END of each run (intermediate evaluations are kept
//     in every run's metrics.jsonl and plotted, to show rankings flipping during the decay);
//   - the baseline's best losses are fitted with L(k) = alpha k^-B + beta and every other arm's
//     loss is converted to the baseline data ratio it is worth (the speedup).
// Data: the repository's own C#, F# and markdown sources as one byte-level text corpus.
//
//   ./modeldsl sweep examples/optimizer_sweep.fsx           (5-10 minutes on 2 cores)
//   MODELDSL_SWEEP_QUICK=1 ./modeldsl sweep examples/optimizer_sweep.fsx   (quick mode, under a minute)
//   ./modeldsl report optimizer-sweep                       (table and plots again, from the run store)
// Stopping and re-running the same command resumes: finished runs are not trained again.
//
// Arms: AdamW (the baseline), Muon and SOAP (matrix preconditioners), Lion (a scalar method with
// its own LR scale). Any other hyperparameter can be swept by its JSON path, e.g.
//   Axis.path "training.optimizer.momentum" [ 0.9; 0.95 ].
#load "../modeldsl.fsx"

open System.IO

let quick = System.Environment.GetEnvironmentVariable "MODELDSL_SWEEP_QUICK" = "1"

/// The corpus: the repository's sources in path order, in runs/corpus (or the folder named by
/// MODELDSL_CORPUS_DIR). It is rebuilt from the sources every time and rewritten when they changed,
/// so a stale corpus is never trained on.
let corpus =
    let root = Path.GetFullPath(Path.Combine(__SOURCE_DIRECTORY__, ".."))
    let folder =
        match System.Environment.GetEnvironmentVariable "MODELDSL_CORPUS_DIR" with
        | null | "" -> Path.Combine(root, "runs", "corpus")
        | given -> given
    let path = Path.Combine(folder, "modeldsl-sources.txt")
    let sources =
        [ for folder, pattern in [ "src-csharp", "*.cs"; "src-fsharp", "*.fs"; "docs", "*.md" ] do
              let directory = Path.Combine(root, folder)
              if Directory.Exists directory then
                  yield! Directory.GetFiles(directory, pattern, SearchOption.AllDirectories)
                         |> Array.filter (fun f -> not (f.Contains "/obj/" || f.Contains "/bin/")) ]
        |> List.sort
    let text = String.concat "\n" [ for file in sources -> File.ReadAllText file ]
    if not (File.Exists path) || File.ReadAllText path <> text then
        Directory.CreateDirectory folder |> ignore
        File.WriteAllText(path, text)
    path

let width, depth, ratios = if quick then 16, 1, [ 0.25; 0.5; 1.0 ] else 16, 2, [ 1.0; 2.0; 4.0 ]

let baseExperiment =
    Experiment.pretrain "sources-lm" (Model.llama (vocab = 256, width = width, depth = depth, heads = 4))
    |> Experiment.task (Tasks.textCorpus (corpus, length = 64, validationFraction = 0.1))
    |> Experiment.batch (globalBatch = 16)
    |> Experiment.eval (every = (if quick then 10 else 50), batches = (if quick then 2 else 8), problems = 0)
    |> Experiment.checkpoint (every = 200)
    |> Experiment.seed 1
    |> Experiment.threads (if quick then 1 else 2)

/// One arm: an optimizer with its schedule, tuned by coordinate descent over the given axes.
let tuned label optimizer schedule axes =
    baseExperiment
    |> Experiment.optimizer optimizer
    |> Experiment.schedule schedule
    |> Sweep.coordinateDescent axes
    |> Sweep.label label

// Grids in the paper's style: learning rates a factor 2 apart, from half each optimizer's usual
// scale to 8 times it (a first run with 4 times found several optima on the grid's top edge), weight decay {0, 0.1} (Lion {0.1, 0.7}: it wants a large one, PAPERS.md §1). The quick
// mode (a CI check that the whole pipeline runs) compares AdamW and Muon on the learning rate alone.
let lrs (scale: float) = [ for f in [ 0.5; 1.0; 2.0; 4.0; 8.0 ] -> f * scale ]
let axesFor lrScale decays =
    if quick then [ Axis.lr [ lrScale; 3.0 * lrScale ] ]
    else [ Axis.lr (lrs lrScale); Axis.weightDecay decays ]
// AdamW, SOAP, Lion: linear warmup then cosine to 0; Muon: no warmup, constant, then linear decay
// to 0 over the last 80% (WSD), as in the paper's setup (PAPERS.md §1).
let cosine = Schedule.warmupCosine (warmup = 0.05, minRatio = 0.0)
let wsd = Schedule.wsd (warmup = 0.0, decayFraction = 0.8, minRatio = 0.0)

let sweep =
    Sweep.compare "optimizer-sweep" [
        yield tuned "adamW" (AdamW()) cosine (axesFor 8e-3 [ 0.0; 0.1 ])
        yield tuned "muon" (Muon()) wsd (axesFor 1e-2 [ 0.0; 0.1 ])
        if not quick then
            yield tuned "soap" (Soap()) cosine (axesFor 8e-3 [ 0.0; 0.1 ])
            yield tuned "lion" (Lion()) cosine (axesFor 1e-3 [ 0.1; 0.7 ])
    ]
    |> Sweep.ratios ratios
    |> Sweep.name (if quick then "optimizer-sweep-quick" else "optimizer-sweep")
