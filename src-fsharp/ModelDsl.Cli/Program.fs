module ModelDsl.Cli.Program

open Argu
open ModelDsl.Cli.Arguments

let private overrides (steps, device, threads) : Overrides.Overrides = { Steps = steps; Device = device; Threads = threads }

let private dispatch (command: CliArguments) =
    match command with
    | Debug -> 0 // removed from the command line before parsing (see main)
    | Validate arguments ->
        Validate.execute (arguments.GetResult ValidateArguments.File) (arguments.Contains ValidateArguments.Ignore_Memory_Check)
    | Info arguments -> Info.execute (arguments.GetResult FileArguments.File)
    | Run arguments ->
        if arguments.Contains RunArguments.Data_Parallel then ModelDsl.Runtime.Distributed.DataParallelLaunch.Require()
        let options =
            overrides (arguments.TryGetResult RunArguments.Steps, arguments.TryGetResult RunArguments.Device, arguments.TryGetResult RunArguments.Threads)
        let target: Train.RunTarget =
            { RunsRoot = arguments.TryGetResult RunArguments.Runs_Dir
              RunDirectory = arguments.TryGetResult RunArguments.Run_Dir
              FromScratch = arguments.Contains RunArguments.From_Scratch
              TensorBoard = arguments.Contains RunArguments.TensorBoard }
        let preflight = ModelDsl.Runtime.Runs.PreflightOptions(IgnoreMemory = arguments.Contains RunArguments.Ignore_Memory_Check)
        Train.executeChecked (Some preflight) target (arguments.GetResult RunArguments.File) options (arguments.Contains RunArguments.Quick)
    | Resume arguments ->
        Resume.execute (arguments.GetResult ResumeArguments.Run_Dir) (arguments.Contains ResumeArguments.From_Scratch)
            (arguments.Contains ResumeArguments.TensorBoard)
    | Quickstart arguments ->
        let options =
            overrides (arguments.TryGetResult QuickstartArguments.Steps, arguments.TryGetResult QuickstartArguments.Device, arguments.TryGetResult QuickstartArguments.Threads)
        Quickstart.execute (arguments.TryGetResult QuickstartArguments.Runs_Dir) options
    | Sweep arguments ->
        let backend: SweepCommand.BackendChoice =
            { Name = arguments.GetResult(SweepArguments.Backend, defaultValue = "local")
              Partition = arguments.TryGetResult SweepArguments.Partition
              Time = arguments.TryGetResult SweepArguments.Time
              Cpus = arguments.TryGetResult SweepArguments.Cpus
              Gpus = arguments.TryGetResult SweepArguments.Gpus }
        SweepCommand.execute (arguments.GetResult SweepArguments.File) (arguments.TryGetResult SweepArguments.Sweeps_Dir)
            (arguments.TryGetResult SweepArguments.Threads) backend
    | Sweep_Task arguments ->
        let directory, key = arguments.GetResult SweepTaskArguments.Point
        SweepCommand.executeTask directory key
    | Report arguments ->
        SweepCommand.executeReport (arguments.GetResult ReportArguments.Sweep) (arguments.TryGetResult ReportArguments.Sweeps_Dir)
    | Tokenizer arguments ->
        TokenizerCommand.execute (arguments.GetResult TokenizerArguments.Corpus) (arguments.GetResult TokenizerArguments.Vocab)
            (arguments.GetResult TokenizerArguments.Out)
    | Interpolate arguments ->
        match arguments.GetResult InterpolateArguments.Models with
        | [ a; b ] ->
            ModelDsl.Cli.Interpolate.execute a b (arguments.GetResult InterpolateArguments.Alpha) (arguments.GetResult InterpolateArguments.Out)
        | paths ->
            Display.errorLine $"interpolate takes two models (run directories or checkpoint files), got {paths.Length}"
            1
    | Export arguments ->
        ModelDsl.Cli.Export.execute (arguments.GetResult ExportArguments.Run) (arguments.GetResult ExportArguments.Format) (arguments.GetResult ExportArguments.Out)
    | Import_Hf arguments -> ModelDsl.Cli.ImportHf.execute (arguments.GetResult ImportHfArguments.Model) (arguments.GetResult ImportHfArguments.Out)

/// Exit codes: 0 done, 1 an error in the input, a file or the machine (one line naming it), 2 an invalid
/// spec (every error with its path), 3 a diverged run, 70 an internal error (a bug), 130/143 stopped by
/// SIGINT/SIGTERM. --debug (anywhere) adds the exception and stack trace to every error.
[<EntryPoint>]
let main argv =
    let parser = ArgumentParser.Create<CliArguments>(programName = "modeldsl")
    Display.debug <- Array.contains "--debug" argv
    try
        let results = parser.ParseCommandLine(argv |> Array.filter ((<>) "--debug"), raiseOnUsage = true)
        // MODELDSL_LIBTORCH names a PyTorch install's torch/lib to run on (e.g. its CUDA build) instead of the bundled libtorch.
        ModelDsl.Runtime.Native.LibTorchPreload.FromEnvironment() |> ignore
        dispatch (results.GetSubCommand())
    with
    | :? System.DllNotFoundException as e when e.Message.StartsWith ModelDsl.Runtime.Native.LibTorchPreload.Variable ->
        Display.errorLine e.Message
        1
    | :? ArguParseException as e ->
        eprintfn "%s" e.Message
        // A usage error exits 2 (the message carries the usage), --help 0.
        if e.ErrorCode = ErrorCode.HelpText then 0 else 2
    | e -> Display.exceptionLine e
