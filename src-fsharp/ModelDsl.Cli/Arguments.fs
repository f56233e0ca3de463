/// The command line, declared with Argu.
module ModelDsl.Cli.Arguments

open Argu

type RunArguments =
    | [<MainCommand; ExactlyOnce>] File of path: string
    | Runs_Dir of directory: string
    | Steps of count: int64
    | Device of device: string
    | Threads of count: int
    | Quick

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | File _ -> "experiment script (.fsx) or run spec (.json)"
            | Quick -> "run a study script's quick (test-sized) variant"
            | Runs_Dir _ -> "folder that receives the run directory (default: runs)"
            | Steps _ -> "train this many optimizer steps instead of the spec's budget"
            | Device _ -> "cpu, cuda, cuda:N or auto (overrides the spec)"
            | Threads _ -> "libtorch CPU threads (overrides the spec)"

type FileArguments =
    | [<MainCommand; ExactlyOnce>] File of path: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | File _ -> "experiment script (.fsx) or run spec (.json)"

type QuickstartArguments =
    | Runs_Dir of directory: string
    | Steps of count: int64
    | Device of device: string
    | Threads of count: int

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Runs_Dir _ -> "folder that receives the run directory (default: runs)"
            | Steps _ -> "train this many optimizer steps instead of the spec's budget"
            | Device _ -> "cpu, cuda, cuda:N or auto"
            | Threads _ -> "libtorch CPU threads"

[<RequireSubcommand>]
type CliArguments =
    | [<CliPrefix(CliPrefix.None)>] Run of ParseResults<RunArguments>
    | [<CliPrefix(CliPrefix.None)>] Info of ParseResults<FileArguments>
    | [<CliPrefix(CliPrefix.None)>] Validate of ParseResults<FileArguments>
    | [<CliPrefix(CliPrefix.None)>] Quickstart of ParseResults<QuickstartArguments>

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run _ -> "train the experiment(s) in a script or run spec"
            | Info _ -> "layers, parameters, FLOPs and steps of an experiment"
            | Validate _ -> "check an experiment and print OK or every error"
            | Quickstart _ -> "train examples/quickstart.fsx (sparse parity with chain of thought)"
