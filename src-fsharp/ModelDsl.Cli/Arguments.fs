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
    | Run_Dir of directory: string
    | From_Scratch

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | File _ -> "experiment script (.fsx) or run spec (.json)"
            | Quick -> "run a study script's quick (test-sized) variant"
            | Run_Dir _ -> "train into this run directory (resumed when it holds checkpoints of the same spec)"
            | From_Scratch -> "train anew when the run directory's checkpoints are all unusable (corrupt or of another spec)"
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

type ResumeArguments =
    | [<MainCommand; ExactlyOnce>] Run_Dir of directory: string
    | From_Scratch

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run_Dir _ -> "a run directory written by modeldsl run (holds spec.json and checkpoints/)"
            | From_Scratch -> "train anew when its checkpoints are all unusable (corrupt or of another spec)"

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

type SweepArguments =
    | [<MainCommand; ExactlyOnce>] File of path: string
    | Sweeps_Dir of directory: string
    | Threads of count: int

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | File _ -> "sweep script (.fsx binding `sweep`) or sweep spec (.json)"
            | Sweeps_Dir _ -> "folder that holds sweep folders (default: runs/sweeps)"
            | Threads _ -> "libtorch CPU threads for every run (does not change results, so a resume may differ)"

type ReportArguments =
    | [<MainCommand; ExactlyOnce>] Sweep of sweep: string
    | Sweeps_Dir of directory: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Sweep _ -> "a sweep folder, or the name of a sweep under the sweeps folder"
            | Sweeps_Dir _ -> "folder that holds sweep folders (default: runs/sweeps)"

type InterpolateArguments =
    | [<MainCommand; ExactlyOnce>] Models of paths: string list
    | [<Mandatory>] Alpha of alpha: float
    | [<Mandatory>] Out of directory: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Models _ -> "A and B: run directories (newest verified checkpoint) or checkpoint files"
            | Alpha _ -> "weight of B in [0, 1]: theta = (1 - alpha) A + alpha B"
            | Out _ -> "new run directory that receives the interpolated checkpoint"

type ExportArguments =
    | [<MainCommand; ExactlyOnce>] Run of path: string
    | [<Mandatory>] Format of format: string
    | [<Mandatory>] Out of directory: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run _ -> "a run directory (newest verified checkpoint) or a checkpoint file"
            | Format _ -> "hf (Hugging Face Llama: config.json, model.safetensors) or safetensors (weights and spec.json)"
            | Out _ -> "directory that receives the files"

type ImportHfArguments =
    | [<MainCommand; ExactlyOnce>] Model of directory: string
    | [<Mandatory>] Out of directory: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Model _ -> "a Hugging Face LlamaForCausalLM directory (config.json, model.safetensors)"
            | Out _ -> "new run directory that receives the imported checkpoint"

[<RequireSubcommand>]
type CliArguments =
    | [<CliPrefix(CliPrefix.None)>] Run of ParseResults<RunArguments>
    | [<CliPrefix(CliPrefix.None)>] Resume of ParseResults<ResumeArguments>
    | [<CliPrefix(CliPrefix.None)>] Info of ParseResults<FileArguments>
    | [<CliPrefix(CliPrefix.None)>] Validate of ParseResults<FileArguments>
    | [<CliPrefix(CliPrefix.None)>] Quickstart of ParseResults<QuickstartArguments>
    | [<CliPrefix(CliPrefix.None)>] Sweep of ParseResults<SweepArguments>
    | [<CliPrefix(CliPrefix.None)>] Report of ParseResults<ReportArguments>
    | [<CliPrefix(CliPrefix.None)>] Interpolate of ParseResults<InterpolateArguments>
    | [<CliPrefix(CliPrefix.None)>] Export of ParseResults<ExportArguments>
    | [<CliPrefix(CliPrefix.None); CustomCommandLine("import-hf")>] Import_Hf of ParseResults<ImportHfArguments>

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run _ -> "train the experiment(s) in a script or run spec"
            | Resume _ -> "continue a run from its newest usable checkpoint"
            | Info _ -> "layers, parameters, FLOPs and steps of an experiment"
            | Validate _ -> "check an experiment and print OK or every error"
            | Quickstart _ -> "train examples/quickstart.fsx (sparse parity with chain of thought)"
            | Sweep _ -> "run or resume a hyperparameter sweep, then write its report"
            | Interpolate _ -> "WiSE-FT: interpolate the weights of two trained models into a new run directory"
            | Export _ -> "write a trained model's weights as safetensors (a Hugging Face Llama directory, or with spec.json)"
            | Import_Hf _ -> "read a Hugging Face Llama directory into a new run directory (to fine-tune or RL from)"
            | Report _ -> "table (arm x ratio: best loss, hyperparameters, speedup) and plots of a sweep"
