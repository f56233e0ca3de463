// ModelDsl prelude for plain `dotnet fsi`: references the built assemblies and opens the DSL.
//   #load "../modeldsl.fsx"    (from examples/)
// Build first: dotnet build src-fsharp/ModelDsl.Cli -c Release  (or ./modeldsl --help).
// Under `modeldsl run`, MODELDSL_CLI is defined and the CLI provides all of this itself, so a
// script that loads this file runs unchanged both ways.
[<AutoOpen>]
module ModelDslPrelude

#if !MODELDSL_CLI
#r "src-fsharp/ModelDsl.Cli/bin/Release/net10.0/TorchSharp.dll"
#r "src-fsharp/ModelDsl.Cli/bin/Release/net10.0/ModelDsl.Core.dll"
#r "src-fsharp/ModelDsl.Cli/bin/Release/net10.0/ModelDsl.FSharp.dll"
#r "src-fsharp/ModelDsl.Cli/bin/Release/net10.0/ModelDsl.Runtime.dll"
#r "src-fsharp/ModelDsl.Cli/bin/Release/net10.0/Spectre.Console.dll"
#r "src-fsharp/ModelDsl.Cli/bin/Release/net10.0/modeldsl.dll"

/// Validates and trains an experiment with live progress; raises with every validation error.
let run (experiment: ExperimentSpec) : ModelDsl.Runtime.Training.TrainResult =
    let spec = Experiment.toSpecOrFail experiment
    ModelDsl.Cli.Train.trainWithProgress None System.Threading.CancellationToken.None spec

/// Trains a spec loaded from JSON (ModelDsl.Core.Json.SpecJson.LoadExperiment); the same as run.
let runSpec (spec: ExperimentSpec) : ModelDsl.Runtime.Training.TrainResult =
    ModelDsl.Cli.Train.trainWithProgress None System.Threading.CancellationToken.None (spec.EnsureValid())

/// Runs a study script's `study` function with the script's arguments (--quick, --runs-dir DIR, --threads N).
let runStudy (study: ModelDsl.Runtime.Studies.StudyContext -> unit) : unit =
    study (ModelDsl.Runtime.Studies.StudyContext.FromArguments(fsi.CommandLineArgs |> Array.skip 1))
#endif
