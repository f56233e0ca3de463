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
    | [<CustomCommandLine("--tensorboard")>] TensorBoard
    | Ignore_Memory_Check
    | Data_Parallel

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | File _ -> "experiment script (.fsx) or run spec (.json)"
            | TensorBoard -> "also write the metrics as TensorBoard event files (run directory's tensorboard/)"
            | Ignore_Memory_Check -> "train even when the memory estimate exceeds the memory available"
            | Data_Parallel -> "require a data-parallel job (mpirun -np R ...; detected without this flag): fail outside mpirun"
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

type ValidateArguments =
    | [<MainCommand; ExactlyOnce>] File of path: string
    | Ignore_Memory_Check

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | File _ -> "experiment script (.fsx) or run spec (.json)"
            | Ignore_Memory_Check -> "accept a spec whose memory estimate exceeds the memory available"

type ResumeArguments =
    | [<MainCommand; ExactlyOnce>] Run_Dir of directory: string
    | From_Scratch
    | [<CustomCommandLine("--tensorboard")>] TensorBoard

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run_Dir _ -> "a run directory written by modeldsl run (holds spec.json and checkpoints/)"
            | TensorBoard -> "also write the metrics as TensorBoard event files (rebuilt from metrics.jsonl)"
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
    | Backend of name: string
    | Partition of name: string
    | Time of limit: string
    | Cpus of count: int
    | Gpus of count: int

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | File _ -> "sweep script (.fsx binding `sweep`) or sweep spec (.json)"
            | Sweeps_Dir _ -> "folder that holds sweep folders (default: runs/sweeps)"
            | Threads _ -> "libtorch CPU threads for every run (does not change results, so a resume may differ)"
            | Backend _ -> "local (default: train here, one run at a time) or slurm (each round as an sbatch job array)"
            | Partition _ -> "slurm: the partition to submit to"
            | Time _ -> "slurm: each task's time limit (30, 1:00:00, 2-0)"
            | Cpus _ -> "slurm: CPUs per task (also the task's libtorch threads unless the spec or --threads sets them)"
            | Gpus _ -> "slurm: GPUs per task"

/// The hidden command a Slurm array task runs: one sweep point, recorded in the sweep's run store.
type SweepTaskArguments =
    | [<MainCommand; ExactlyOnce>] Point of sweep_dir: string * key: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Point _ -> "the sweep folder and the run key of a point written under its points/"

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

type TokenizerArguments =
    | [<MainCommand; ExactlyOnce>] Corpus of path: string
    | [<Mandatory>] Vocab of size: int
    | [<Mandatory>] Out of directory: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Corpus _ -> "UTF-8 text file to learn the vocabulary from"
            | Vocab _ -> "tokens in the vocabulary, at least 256 (the bytes) and at most 1000000"
            | Out _ -> "folder that receives vocab.json and merges.txt"

[<RequireSubcommand>]
type CliArguments =
    | Debug
    | [<CliPrefix(CliPrefix.None)>] Run of ParseResults<RunArguments>
    | [<CliPrefix(CliPrefix.None)>] Resume of ParseResults<ResumeArguments>
    | [<CliPrefix(CliPrefix.None)>] Info of ParseResults<FileArguments>
    | [<CliPrefix(CliPrefix.None)>] Validate of ParseResults<ValidateArguments>
    | [<CliPrefix(CliPrefix.None)>] Quickstart of ParseResults<QuickstartArguments>
    | [<CliPrefix(CliPrefix.None)>] Sweep of ParseResults<SweepArguments>
    | [<CliPrefix(CliPrefix.None)>] Report of ParseResults<ReportArguments>
    | [<CliPrefix(CliPrefix.None)>] Interpolate of ParseResults<InterpolateArguments>
    | [<CliPrefix(CliPrefix.None)>] Tokenizer of ParseResults<TokenizerArguments>
    | [<CliPrefix(CliPrefix.None)>] Export of ParseResults<ExportArguments>
    | [<CliPrefix(CliPrefix.None); CustomCommandLine("import-hf")>] Import_Hf of ParseResults<ImportHfArguments>
    | [<CliPrefix(CliPrefix.None); Hidden>] Sweep_Task of ParseResults<SweepTaskArguments>

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Debug -> "on an error, also print the exception and its stack trace (anywhere on the command line)"
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
            | Tokenizer _ -> "learn a byte-level BPE vocabulary from a text file (for textCorpus with tokenizer bpe)"
            | Sweep_Task _ -> "train one point of a sweep submitted to Slurm (run by its array tasks)"
