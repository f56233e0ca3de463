module ModelDsl.Cli.Program

open Argu
open ModelDsl.Cli.Arguments

let private overrides (steps, device, threads) : Overrides.Overrides = { Steps = steps; Device = device; Threads = threads }

let private dispatch (command: CliArguments) =
    match command with
    | Validate arguments -> Validate.execute (arguments.GetResult FileArguments.File)
    | Info arguments -> Info.execute (arguments.GetResult FileArguments.File)
    | Run arguments ->
        let options =
            overrides (arguments.TryGetResult RunArguments.Steps, arguments.TryGetResult RunArguments.Device, arguments.TryGetResult RunArguments.Threads)
        let target: Train.RunTarget =
            { RunsRoot = arguments.TryGetResult RunArguments.Runs_Dir
              RunDirectory = arguments.TryGetResult RunArguments.Run_Dir
              FromScratch = arguments.Contains RunArguments.From_Scratch }
        Train.executeIn target (arguments.GetResult RunArguments.File) options (arguments.Contains RunArguments.Quick)
    | Resume arguments -> Resume.execute (arguments.GetResult ResumeArguments.Run_Dir) (arguments.Contains ResumeArguments.From_Scratch)
    | Quickstart arguments ->
        let options =
            overrides (arguments.TryGetResult QuickstartArguments.Steps, arguments.TryGetResult QuickstartArguments.Device, arguments.TryGetResult QuickstartArguments.Threads)
        Quickstart.execute (arguments.TryGetResult QuickstartArguments.Runs_Dir) options
    | Sweep arguments ->
        SweepCommand.execute (arguments.GetResult SweepArguments.File) (arguments.TryGetResult SweepArguments.Sweeps_Dir)
            (arguments.TryGetResult SweepArguments.Threads)
    | Report arguments ->
        SweepCommand.executeReport (arguments.GetResult ReportArguments.Sweep) (arguments.TryGetResult ReportArguments.Sweeps_Dir)
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

[<EntryPoint>]
let main argv =
    let parser = ArgumentParser.Create<CliArguments>(programName = "modeldsl")
    try
        let results = parser.ParseCommandLine(argv, raiseOnUsage = true)
        dispatch (results.GetSubCommand())
    with
    | :? ArguParseException as e ->
        eprintfn "%s" e.Message
        if e.ErrorCode = ErrorCode.HelpText then 0 else 1
