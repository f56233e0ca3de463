/// `modeldsl import-hf DIR --out RUN_DIR`: a Hugging Face LlamaForCausalLM directory (config.json and
/// safetensors weights) as a run directory that `Source.run` loads for fine-tuning or RL.
module ModelDsl.Cli.ImportHf

open System.IO
open Spectre.Console
open ModelDsl.Core.Validation
open ModelDsl.Runtime.FineTune
open ModelDsl.Runtime.Interop
open ModelDsl.Runtime.Runs

/// Returns the exit code: 0 when written, 1 with the error (no stack trace) when the directory is
/// missing, its config has a setting the runtime cannot honour (the message names the key), its
/// weights are malformed, absent or only pickled, or the output already holds checkpoints.
let execute (directory: string) (out: string) =
    try
        let checkpoint = HfLlamaImport.WriteRun(directory, out)
        AnsiConsole.MarkupLine($"imported [link]{Display.escape directory}[/] into [link]{Display.escape out}[/] ({Display.escape (Path.GetFileName checkpoint)})")
        0
    with
    | :? HfLlamaException as e -> Display.errorLine e.Message; 1
    | :? SafetensorsFormatException as e -> Display.errorLine e.Message; 1
    | :? ModelSourceException as e -> Display.errorLine e.Message; 1
    | :? CheckpointException as e -> Display.errorLine e.Message; 1
    | :? SpecValidationException as e -> Display.errorLine e.Message; 1
    | :? IOException as e -> Display.errorLine e.Message; 1
