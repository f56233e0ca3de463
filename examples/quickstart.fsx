// Quickstart: a 2-layer transformer learns sparse parity Parity(16, 3) by writing out the running
// XORs first (chain of thought, PAPERS.md §10), which makes the task learnable in a few hundred steps.
//   ./modeldsl quickstart                (or: ./modeldsl run examples/quickstart.fsx)
//   dotnet fsi examples/quickstart.fsx   (plain F# Interactive, after a Release build)
#load "../modeldsl.fsx"

let experiment =
    Experiment.pretrain "quickstart-parity" (Model.llama (vocab = 4, width = 128, depth = 2, heads = 4))
    |> Experiment.task (Tasks.sparseParity (bits = 16, secret = 3, cot = true))
    |> Experiment.optimizer (Optim.adamW { AdamW.defaults with Lr = 3e-3 })
    |> Experiment.schedule (Schedule.warmupCosine (warmup = 0.05, minRatio = 0.1))
    |> Experiment.budget (Budget.steps 600)
    |> Experiment.batch (globalBatch = 64)
    |> Experiment.eval (every = 100, problems = 256)
    |> Experiment.seed 1

// The modeldsl CLI trains `experiment` itself; plain `dotnet fsi` trains it here.
#if !MODELDSL_CLI
run experiment
#endif
