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

// Native libraries (libSkiaSharp for plots, libtorch's) live under runtimes/<rid>/native of the build
// output. `dotnet fsi` probes only the folders of its own deps.json, wherever this script is loaded
// from, so a library not found that way is looked up there (once per process).
do
    let key = "ModelDsl.NativeLibraryResolver"
    if isNull (System.AppDomain.CurrentDomain.GetData key) then
        System.AppDomain.CurrentDomain.SetData(key, box true)
        let bin = System.IO.Path.Combine(__SOURCE_DIRECTORY__, "src-fsharp", "ModelDsl.Cli", "bin", "Release", "net10.0")
        let runtimes = System.IO.Path.Combine(bin, "runtimes")
        let folders =
            [ yield bin
              yield System.IO.Path.Combine(runtimes, System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier, "native")
              if System.IO.Directory.Exists runtimes then
                  for rid in System.IO.Directory.GetDirectories runtimes do yield System.IO.Path.Combine(rid, "native") ]
        let resolve (name: string) =
            [ for folder in folders do
                for file in [ name; $"lib{name}.so"; $"{name}.so"; $"lib{name}.dylib"; $"{name}.dll" ] do
                    yield System.IO.Path.Combine(folder, file) ]
            |> List.tryPick (fun path ->
                match System.Runtime.InteropServices.NativeLibrary.TryLoad path with
                | true, handle -> Some handle
                | _ -> None)
            |> Option.defaultValue 0n
        System.Runtime.Loader.AssemblyLoadContext.Default.add_ResolvingUnmanagedDll(
            System.Func<System.Reflection.Assembly, string, nativeint>(fun _ name -> resolve name))

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
