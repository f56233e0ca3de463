/// `modeldsl interpolate A B --alpha X --out DIR`: WiSE-FT weight interpolation of two trained models
/// written as a run directory that `Source.run` (or a JSON fromRun source) loads.
module ModelDsl.Cli.Interpolate

open System.IO
open Spectre.Console
open ModelDsl.Core.Validation
open ModelDsl.Runtime.FineTune
open ModelDsl.Runtime.Runs

/// A and B are run directories (their newest verified checkpoint) or checkpoint files. Returns the
/// exit code: 0 when written, 1 with one error line (no stack trace) when an input is missing, the
/// architectures differ, alpha is outside [0, 1] or the output already holds checkpoints.
let execute (a: string) (b: string) (alpha: float) (out: string) =
    let missing = [ a; b ] |> List.filter (fun p -> not (File.Exists p || Directory.Exists p))
    if not missing.IsEmpty then
        for path in missing do Display.errorLine $"'{path}' is neither a run directory nor a checkpoint file"
        1
    else
        try
            let checkpoint = WeightInterpolation.Write(a, b, alpha, out)
            AnsiConsole.MarkupLine($"interpolated (1 - {alpha}) A + {alpha} B into [link]{Display.escape out}[/] ({Display.escape (Path.GetFileName checkpoint)})")
            0
        with
        | :? ModelSourceException as e -> Display.errorLine e.Message; 1
        | :? CheckpointException as e -> Display.errorLine e.Message; 1
        | :? SpecValidationException as e -> Display.errorLine e.Message; 1
        | :? IOException as e -> Display.errorLine e.Message; 1
        | :? System.ArgumentException as e -> Display.errorLine e.Message; 1
