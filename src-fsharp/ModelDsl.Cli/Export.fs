/// `modeldsl export RUN --format hf|safetensors --out DIR`: a trained model's weights as safetensors,
/// either as a Hugging Face LlamaForCausalLM directory or with the runtime's own names and spec.json.
module ModelDsl.Cli.Export

open System.IO
open Spectre.Console
open ModelDsl.Core.Validation
open ModelDsl.Runtime.FineTune
open ModelDsl.Runtime.Interop
open ModelDsl.Runtime.Runs

/// RUN is a run directory (its newest verified checkpoint) or a checkpoint file. Returns the exit code:
/// 0 when written, 1 with the error (no stack trace) when the input is missing or unreadable, the
/// format is unknown, the model has a feature HF Llama cannot express, or DIR already holds the files.
let execute (run: string) (format: string) (out: string) =
    if not (File.Exists run || Directory.Exists run) then
        Display.errorLine $"'{run}' is neither a run directory nor a checkpoint file"
        1
    else
        try
            match format with
            | "hf" ->
                HfLlamaExport.Write(run, out)
                AnsiConsole.MarkupLine($"wrote a Hugging Face Llama model (config.json, model.safetensors) to [link]{Display.escape out}[/]")
                0
            | "safetensors" ->
                SafetensorsExport.Write(run, out)
                AnsiConsole.MarkupLine($"wrote the weights (model.safetensors) and spec.json to [link]{Display.escape out}[/]")
                0
            | other ->
                Display.errorLine $"--format {other}: unknown (hf: a Hugging Face Llama directory; safetensors: weights with this runtime's names and spec.json)"
                1
        with
        | :? HfLlamaException as e -> Display.errorLine e.Message; 1
        | :? SafetensorsFormatException as e -> Display.errorLine e.Message; 1
        | :? ModelSourceException as e -> Display.errorLine e.Message; 1
        | :? CheckpointException as e -> Display.errorLine e.Message; 1
        | :? SpecValidationException as e -> Display.errorLine e.Message; 1
        | :? IOException as e -> Display.errorLine e.Message; 1
