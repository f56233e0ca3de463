/// `modeldsl quickstart`: runs examples/quickstart.fsx from the repository this executable was
/// built in, or an embedded copy when the executable travels alone.
module ModelDsl.Cli.Quickstart

open System
open System.IO
open System.Reflection

let private scriptName = "quickstart.fsx"

/// Walks up from the executable's folder to the first folder holding examples/quickstart.fsx.
let private findInRepository () =
    let rec up (directory: DirectoryInfo) =
        if isNull directory then None
        else
            let candidate = Path.Combine(directory.FullName, "examples", scriptName)
            if File.Exists candidate then Some candidate else up directory.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

/// Writes the embedded quickstart (and the prelude it `#load`s) to a temporary folder.
let private extractEmbedded () =
    let root = Directory.CreateTempSubdirectory("modeldsl-quickstart-").FullName
    let write (resource: string) (target: string) =
        use stream = Assembly.GetExecutingAssembly().GetManifestResourceStream resource
        if isNull stream then failwith $"the executable carries no embedded {resource}"
        Directory.CreateDirectory(Path.GetDirectoryName target) |> ignore
        use file = File.Create target
        stream.CopyTo file
    write "modeldsl.fsx" (Path.Combine(root, "modeldsl.fsx"))
    write scriptName (Path.Combine(root, "examples", scriptName))
    Path.Combine(root, "examples", scriptName)

let locate () =
    match findInRepository () with
    | Some path -> path
    | None -> extractEmbedded ()

let execute (runsRoot: string option) (overrides: Overrides.Overrides) =
    let path = locate ()
    Spectre.Console.AnsiConsole.MarkupLine($"[grey]{Display.escape path}[/]")
    Train.execute path runsRoot overrides false
