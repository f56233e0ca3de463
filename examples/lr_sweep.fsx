// A small tuning sweep, the shape every `modeldsl sweep` script takes: arms (here AdamW and Lion),
// each tuned by coordinate descent over its learning rate at every Chinchilla data ratio, the
// held-out loss at the end of each run as the metric, and a scaling fit of the baseline's losses.
// A best value on a grid's edge widens that axis (up to two extensions per side).
// Data: a seeded English-like corpus from a probabilistic grammar (GrammarText), byte-level.
//
//   ./modeldsl sweep examples/lr_sweep.fsx            (a few minutes on 2 cores)
//   ./modeldsl report lr-sweep                         (table and plots again, from the run store)
//   ./modeldsl sweep examples/lr_sweep.fsx --backend slurm --partition cpu --time 0:30:00
// Stopping and re-running the same command resumes: finished runs are not trained again.
// The full optimizer study (several sizes, five optimizers) is examples/optimizer_sweep.fsx.
#load "../modeldsl.fsx"

open System.IO
open ModelDsl.Runtime.Studies

/// The corpus, written once into runs/corpus (or the folder named by MODELDSL_CORPUS_DIR).
let corpus =
    let folder =
        match System.Environment.GetEnvironmentVariable "MODELDSL_CORPUS_DIR" with
        | null | "" -> Path.Combine(__SOURCE_DIRECTORY__, "..", "runs", "corpus")
        | given -> given
    let path = Path.GetFullPath(Path.Combine(folder, "grammar-text-200k.txt"))
    if not (File.Exists path) then
        Directory.CreateDirectory(Path.GetDirectoryName path) |> ignore
        GrammarText(3000, 2509).WriteCorpus(path, 200_000, 1) |> ignore
    path

let baseExperiment =
    Experiment.pretrain "grammar-lm" (Model.llama (vocab = 256, width = 16, depth = 1, heads = 4))
    |> Experiment.task (Tasks.textCorpus (corpus, length = 64, validationFraction = 0.1))
    |> Experiment.batch (globalBatch = 16)
    |> Experiment.eval (every = 20, batches = 2, problems = 0)
    |> Experiment.checkpoint (every = 200)
    |> Experiment.seed 1
    |> Experiment.threads 1

let tuned label optimizer lrs =
    baseExperiment
    |> Experiment.optimizer optimizer
    |> Experiment.schedule (Schedule.warmupCosine (warmup = 0.05, minRatio = 0.0))
    |> Sweep.coordinateDescent [ Axis.lr lrs ]
    |> Sweep.label label

let sweep =
    Sweep.compare "lr-sweep" [
        tuned "adamW" (AdamW(WeightDecay = 0.1)) [ 1.6e-2; 3.2e-2; 6.4e-2 ]
        tuned "lion" (Lion(WeightDecay = 0.7)) [ 4e-3; 8e-3; 1.6e-2 ]
    ]
    |> Sweep.widenEdges 2
    |> Sweep.ratios [ 0.25; 0.5 ]
    |> Sweep.name "lr-sweep"
